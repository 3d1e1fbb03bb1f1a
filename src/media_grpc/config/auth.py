"""Settings of caller authentication (MEDIA_AUTH__*)."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

#: The embedded default's signing secret: good for grpcurl on a laptop, refused in production.
DEVELOPMENT_JWT_SECRET = "media-grpc-development-secret-do-not-use-in-production"  # noqa: S105


class AuthSettings(BaseModel):
    #: HS256 shared secret. Ignored when a public key is set.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    #: PEM public key for RS256/ES256 tokens.
    jwt_public_key: str | None = None
    #: Accepted signing algorithms.
    jwt_algorithms: list[str] = ["HS256"]
    #: Required `iss` claim.
    jwt_issuer: str = "media-grpc-dev"
    #: Required `aud` claim.
    jwt_audience: str = "media-grpc"
    #: Claim carrying the role; callers with a role in `service_roles` are service principals.
    role_claim: str = "role"
    #: Roles that act for other users (API gateway, post service).
    service_roles: list[str] = ["service"]
