"""The one typed settings object, read once from MEDIA_* environment variables.

Nested groups use a double underscore: ``MEDIA_UPLOADS__URL_TTL_SECONDS=600``.
With ``MEDIA_ENVIRONMENT=development`` (the default), whatever is not configured is embedded:
SQLite under ``data_dir``, a local S3 endpoint on 127.0.0.1, an in-process queue.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from media_grpc.config.auth import DEVELOPMENT_JWT_SECRET, AuthSettings
from media_grpc.config.image import ImageSettings
from media_grpc.config.imports import ImportSettings
from media_grpc.config.lifecycle import RATE_BUCKET_CLOCK_SKEW_SECONDS, LifecycleSettings
from media_grpc.config.limits import LimitSettings
from media_grpc.config.pipeline import PipelineSettings
from media_grpc.config.storage import StorageSettings
from media_grpc.config.streams import StreamSettings
from media_grpc.config.tls import TlsSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.config.video import VideoSettings


class SettingsError(ValueError):
    """The settings cannot run the service (e.g. production without a database URL)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDIA_", env_nested_delimiter="__", extra="ignore", populate_by_name=True
    )

    #: ``development`` embeds what is not configured; ``production`` requires every URL.
    environment: Literal["development", "production"] = "development"
    #: gRPC listen address.
    grpc_listen: str = "127.0.0.1:50051"
    #: Threads handling RPCs. Each may hold a database connection, so the pool keeps at
    #: least this many (a smaller pool opens and closes connections under load).
    grpc_max_workers: int = 32
    #: `media-grpc serve` server processes sharing the listen port (SO_REUSEPORT, Linux). More
    #: than 1 needs a configured database and S3 endpoint; each process has its own threads
    #: and database pool, and only the first runs the relay, cleanup and in-process worker.
    grpc_processes: int = Field(default=1, ge=1, le=64)
    #: Where the embedded default keeps its SQLite file.
    data_dir: Path = Path(".media-data")
    #: SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``. Unset: embedded SQLite.
    database_url: str | None = None
    #: Connections kept by the database pool.
    database_pool_size: int = 10

    #: S3 endpoint (MinIO, R2, ...). Unset in development: an embedded local S3 on 127.0.0.1.
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str = "media"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    #: Port of the embedded local S3 endpoint.
    embedded_s3_port: int = 9000
    #: Public base URL of the bucket's objects. Unset: ``{endpoint}/{bucket}``.
    cdn_base_url: str | None = None

    #: AMQP URL, e.g. ``amqp://guest:guest@127.0.0.1:5672/%2F``. Unset: an in-process queue.
    broker_url: str | None = None
    #: Prefix of the exchange and queue names.
    broker_prefix: str = "media"

    uploads: UploadSettings = UploadSettings()
    auth: AuthSettings = AuthSettings()
    image: ImageSettings = ImageSettings()
    video: VideoSettings = VideoSettings()
    limits: LimitSettings = LimitSettings()
    tls: TlsSettings = TlsSettings()
    storage: StorageSettings = StorageSettings()
    pipeline: PipelineSettings = PipelineSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    #: Imports from legacy URLs (``media-grpc import``, ImportMedia): off until hosts are listed.
    import_: ImportSettings = Field(default_factory=ImportSettings, validation_alias="media_import")
    streams: StreamSettings = StreamSettings()

    #: Port of the Prometheus metrics HTTP endpoint (``/metrics``); 0 turns it off.
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    #: Address the metrics endpoint binds.
    metrics_host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _rate_buckets_outlast_their_refill(self) -> Self:
        """The cleanup deletes a bucket row unused for the retention as if it were full: refuse
        a retention shorter than the slowest bucket's refill (plus clock skew)."""
        refill, source = self.limits.longest_refill()
        retention = self.lifecycle.rate_bucket_retention_seconds
        if retention < refill + RATE_BUCKET_CLOCK_SKEW_SECONDS:
            raise ValueError(
                f"MEDIA_LIFECYCLE__RATE_BUCKET_RETENTION_SECONDS ({retention:g}) must be at least "
                f"the longest refill of a rate-limit bucket, {source} ({refill:g} s), plus "
                f"{RATE_BUCKET_CLOCK_SKEW_SECONDS:g} s for clock skew: raise it to "
                f"{refill + RATE_BUCKET_CLOCK_SKEW_SECONDS:g} or more"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'media.db'}"

    @property
    def serves_reflection(self) -> bool:
        """``MEDIA_STREAMS__REFLECTION``, or on unless the environment is production."""
        if self.streams.reflection is not None:
            return self.streams.reflection
        return not self.is_production

    @property
    def embeds_s3(self) -> bool:
        return self.s3_endpoint_url is None

    @property
    def resolved_s3_endpoint_url(self) -> str:
        return self.s3_endpoint_url or f"http://127.0.0.1:{self.embedded_s3_port}"

    def check_runnable(self) -> None:
        """Refuse configurations that must not serve: raises SettingsError."""
        self.check_listen(self.grpc_listen)
        if not self.is_production:
            return
        missing = [
            name
            for name, value in (
                ("MEDIA_DATABASE_URL", self.database_url),
                ("MEDIA_S3_ENDPOINT_URL", self.s3_endpoint_url),
                ("MEDIA_BROKER_URL", self.broker_url),
            )
            if not value
        ]
        if missing:
            raise SettingsError(f"production requires {', '.join(missing)}")
        if (
            not self.auth.uses_public_key
            and self.auth.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
        ):
            raise SettingsError(
                "production refuses the development JWT secret: set MEDIA_AUTH__JWT_SECRET "
                "or MEDIA_AUTH__JWT_PUBLIC_KEY"
            )

    def check_listen(self, address: str) -> None:
        """Refuse to serve ``address`` beyond this machine with a secret anyone may know, in
        every environment: raises SettingsError."""
        refusal = self.auth.network_refusal()
        if refusal is not None and not is_loopback(address):
            raise SettingsError(
                f"refusing to listen on {address}: {refusal}. Set MEDIA_AUTH__JWT_SECRET to at "
                "least 32 random bytes (e.g. `openssl rand -base64 48`) or "
                "MEDIA_AUTH__JWT_PUBLIC_KEY, or listen on 127.0.0.1"
            )


def is_loopback(address: str) -> bool:
    """True when a ``host:port`` listen address only accepts connections from this machine."""
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
