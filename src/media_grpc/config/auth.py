"""Settings of caller authentication (MEDIA_AUTH__*)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

#: The embedded default's signing secret: good for grpcurl on a laptop, refused in production.
DEVELOPMENT_JWT_SECRET = "media-grpc-development-secret-do-not-use-in-production"  # noqa: S105
#: Secrets printed in this repository (the development one, the old docker-compose fallback):
#: anyone can sign tokens with them, so they never serve a non-loopback address.
PUBLIC_JWT_SECRETS = frozenset({DEVELOPMENT_JWT_SECRET, "compose-only-secret-change-me"})
#: Shortest HS secret served on a non-loopback address, in bytes (RFC 7518 3.2: HS256 needs
#: a key of at least 256 bits).
MIN_NETWORK_SECRET_BYTES = 32


class AuthSettings(BaseModel):
    #: HS256 shared secret. Ignored when a public key is set.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    #: PEM public key for RS256/ES256 tokens. When set (or the file below), HS* is refused.
    jwt_public_key: str | None = None
    #: File holding the PEM public key, for deployments that mount it rather than inline it.
    jwt_public_key_file: Path | None = None
    #: Accepted signing algorithms. Only those fitting the key are used: HS* with the secret;
    #: RS*/PS* with an RSA key, ES* with an EC key, EdDSA with an Ed25519 key. With a public
    #: key and none of these named, the key's own (RS256, ES256/384/512, EdDSA) is used.
    jwt_algorithms: list[str] = ["HS256"]
    #: Required `iss` claim.
    jwt_issuer: str = "media-grpc-dev"
    #: Required `aud` claim.
    jwt_audience: str = "media-grpc"
    #: Claim carrying the role; callers with a role in `service_roles` are service principals.
    role_claim: str = "role"
    #: Roles that act for other users (API gateway, post service).
    service_roles: list[str] = ["service"]
    #: Longest lifetime accepted, in seconds: a token whose ``exp`` lies further than this
    #: after its ``iat`` (or, without ``iat``, after now) is refused. 0 accepts any lifetime.
    max_token_lifetime_seconds: int = Field(default=86_400, ge=0)
    #: Clock skew tolerated between the issuer and this server when checking ``exp``, ``iat``
    #: and ``nbf``, in seconds.
    clock_skew_seconds: int = Field(default=30, ge=0, le=600)
    #: Key of the HMAC on ListMedia page tokens. Unset: derived from the JWT secret; with a
    #: public key and no page token secret, each process draws a random one (set this when
    #: several processes serve the same clients).
    page_token_secret: SecretStr | None = None

    @property
    def uses_public_key(self) -> bool:
        return bool(self.jwt_public_key or self.jwt_public_key_file)

    def network_refusal(self) -> str | None:
        """Why this configuration must not verify tokens for a network, or None."""
        if self.uses_public_key:
            return None
        secret = self.jwt_secret.get_secret_value()
        if secret in PUBLIC_JWT_SECRETS:
            return "the JWT secret is a public one printed in this repository"
        if len(secret.encode()) < MIN_NETWORK_SECRET_BYTES:
            return f"the JWT secret is shorter than {MIN_NETWORK_SECRET_BYTES} bytes"
        return None

    def page_token_key(self) -> bytes | None:
        """The page token HMAC key, or None for a random key per process."""
        if self.page_token_secret is not None:
            secret = self.page_token_secret.get_secret_value()
        elif not self.uses_public_key:
            secret = self.jwt_secret.get_secret_value()
        else:
            return None
        return hmac.new(secret.encode(), b"media-grpc page tokens", hashlib.sha256).digest()

    def public_key_pem(self) -> str | None:
        """The configured public key (inline first, else read from the file), or None."""
        if self.jwt_public_key:
            return self.jwt_public_key
        if self.jwt_public_key_file is not None:
            return self.jwt_public_key_file.read_text()
        return None
