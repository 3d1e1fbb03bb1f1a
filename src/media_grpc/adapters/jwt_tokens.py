"""Bearer tokens (PyJWT): verifying callers, and issuing development tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from media_grpc.config import SettingsError
from media_grpc.config.auth import AuthSettings
from media_grpc.domain.errors import Unauthenticated
from media_grpc.domain.ids import problem
from media_grpc.domain.principal import Principal
from media_grpc.domain.token_shape import malformed

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
#: Longest bearer token read, in characters (a token is a few hundred).
MAX_TOKEN_CHARS = 8192


def _public_key(pem: str, configured: list[str]) -> tuple[Any, list[str]]:
    """The loaded key and the algorithms that fit it (configured ones first)."""
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as e:
        raise SettingsError(f"MEDIA_AUTH__JWT_PUBLIC_KEY is not a PEM public key: {e}") from None
    if isinstance(key, rsa.RSAPublicKey):
        fitting, default = RSA_ALGORITHMS, "RS256"
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in EC_ALGORITHMS:
        default = EC_ALGORITHMS[key.curve.name]
        fitting = frozenset({default})
    elif isinstance(key, ed25519.Ed25519PublicKey):
        fitting, default = frozenset({"EdDSA"}), "EdDSA"
    else:
        raise SettingsError(f"unsupported JWT public key type {type(key).__name__}")
    return key, [a for a in configured if a in fitting] or [default]


class TokenVerifier:
    """Checks signature, exp, iss and aud; the subject is the acting user or service.

    With a public key, only asymmetric algorithms fitting that key are accepted, so a token
    HMAC-signed with the public key as its secret (algorithm confusion) is refused; with the
    shared secret, only HS256/384/512. ``alg: none`` is never accepted.
    """

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        pem = settings.public_key_pem()
        self._key: Any
        if pem is not None:
            self._key, self.algorithms = _public_key(pem, settings.jwt_algorithms)
        else:
            self._key = settings.jwt_secret.get_secret_value()
            self.algorithms = [a for a in settings.jwt_algorithms if a in HMAC_ALGORITHMS]
            if not self.algorithms:
                raise SettingsError(
                    "MEDIA_AUTH__JWT_ALGORITHMS names no HS256/HS384/HS512 algorithm; set "
                    "MEDIA_AUTH__JWT_PUBLIC_KEY for RS256/ES256 tokens"
                )

    def principal(self, token: str) -> Principal:
        """The caller, or Unauthenticated with a message that names what is wrong with the
        token (never the expected issuer or audience, nor the token's content)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self.algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.clock_skew_seconds,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the bearer token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the bearer token's audience is not accepted here") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the bearer token's issuer is not accepted here") from None
        except jwt.DecodeError as e:
            message = malformed(token) or f"the bearer token is not valid: {str(e)[:200]}"
            raise Unauthenticated(message) from None
        except jwt.InvalidTokenError as e:
            raise Unauthenticated(f"the bearer token is not valid: {str(e)[:200]}") from None
        self._check_lifetime(claims)
        return Principal(subject=_subject(claims), is_service=self._is_service(claims))

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        longest = self.settings.max_token_lifetime_seconds
        if not longest:
            return
        try:
            start = float(claims.get("iat", time.time()))
            lifetime = float(claims["exp"]) - start
        except (TypeError, ValueError):
            raise Unauthenticated("the bearer token's exp and iat must be numbers") from None
        if lifetime > longest + self.settings.clock_skew_seconds:
            raise Unauthenticated(
                f"the bearer token lives longer than the {longest} s accepted here; "
                "issue a shorter-lived token"
            )

    def _is_service(self, claims: dict[str, Any]) -> bool:
        roles = claims.get(self.settings.role_claim)
        if roles is None:
            return False
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated(
                f"the bearer token's {self.settings.role_claim!r} claim must be a string "
                "or a list of strings"
            )
        return any(role in self.settings.service_roles for role in roles)


def _subject(claims: dict[str, Any]) -> str:
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the bearer token's subject must be a non-empty string")
    wrong = problem(subject)
    if wrong is not None:
        raise Unauthenticated(f"the bearer token's subject {wrong}")
    return subject


def issue_token(
    settings: AuthSettings, subject: str, *, role: str | None = None, ttl_seconds: int = 3600
) -> str:
    """An HS256 token signed with the configured secret (for development and tests)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if role:
        claims[settings.role_claim] = role
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
