"""Bearer tokens (PyJWT): verifying callers, and issuing development tokens."""

from __future__ import annotations

import time

import jwt

from media_grpc.config.auth import AuthSettings
from media_grpc.domain.errors import Unauthenticated
from media_grpc.domain.principal import Principal


class TokenVerifier:
    """Checks signature, exp, iss and aud; the subject is the acting user or service."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._key = settings.jwt_public_key or settings.jwt_secret.get_secret_value()

    def principal(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self.settings.jwt_algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the bearer token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(
                f"the bearer token's audience is not {self.settings.jwt_audience!r}"
            ) from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(
                f"the bearer token's issuer is not {self.settings.jwt_issuer!r}"
            ) from None
        except jwt.InvalidTokenError as e:
            raise Unauthenticated(f"the bearer token is not valid: {e}") from None
        subject = str(claims["sub"])
        if not subject:
            raise Unauthenticated("the bearer token has an empty subject")
        roles = claims.get(self.settings.role_claim) or []
        roles = [roles] if isinstance(roles, str) else list(roles)
        is_service = any(role in self.settings.service_roles for role in roles)
        return Principal(subject=subject, is_service=is_service)


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
