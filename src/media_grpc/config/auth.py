"""Settings of caller authentication (MEDIA_AUTH__*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, SecretStr

#: The embedded default's signing secret: good for grpcurl on a laptop, refused in production.
DEVELOPMENT_JWT_SECRET = "media-grpc-development-secret-do-not-use-in-production"  # noqa: S105


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

    @property
    def uses_public_key(self) -> bool:
        return bool(self.jwt_public_key or self.jwt_public_key_file)

    def public_key_pem(self) -> str | None:
        """The configured public key (inline first, else read from the file), or None."""
        if self.jwt_public_key:
            return self.jwt_public_key
        if self.jwt_public_key_file is not None:
            return self.jwt_public_key_file.read_text()
        return None
