"""The only place objects are built: from one Settings object to a running application."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.change_listener import (
    ChangeListener,
    PollingChangeListener,
    PostgresChangeListener,
)
from media_grpc.adapters.change_notify import install_status_notifications
from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.outbox_signal import OutboxSignal
from media_grpc.adapters.owner_call_rates import SqlAlchemyCallRates
from media_grpc.adapters.s3_storage import S3BlobStorage, build_s3_client
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.adapters.url_fetcher import PolicyUrlFetcher
from media_grpc.api.messages import MediaMessages
from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.servicer import MediaServicer
from media_grpc.api.tls import server_credentials
from media_grpc.config import Settings
from media_grpc.domain.model import Purpose
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, LocalS3
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.hash_backfill import HashBackfill
from media_grpc.service.imports import MediaImports
from media_grpc.service.limits import UploadAdmission
from media_grpc.service.owner_rates import OwnerRates
from media_grpc.service.posts import PostMedia
from media_grpc.service.queries import MediaQueries
from media_grpc.service.retry_processing import ProcessingRetries
from media_grpc.service.storage_restore import fail_media_of_lost_objects
from media_grpc.service.uploads import UploadService
from media_grpc.service.watching import ChangeFeed, MediaWatching
from media_grpc.storage_admin.policy import public_read_statement
from media_grpc.storage_admin.setup import ensure_bucket, ensure_cors

log = logging.getLogger(__name__)


@dataclass
class Application:
    """Everything a server or worker process runs with; ``close()`` releases it."""

    settings: Settings
    engine: Engine
    storage: BlobStorage
    s3_client: Any
    ctx: ServiceContext
    uploads: UploadService
    queries: MediaQueries
    messages: MediaMessages
    verifier: TokenVerifier
    outbox_signal: OutboxSignal = field(default_factory=OutboxSignal)
    local_s3: LocalS3 | None = None
    change_feed: ChangeFeed | None = None

    def change_listener(self) -> ChangeListener:
        """LISTEN on PostgreSQL; one poll per interval on SQLite."""
        if self.engine.dialect.name == "postgresql":
            return PostgresChangeListener(self.settings.resolved_database_url)
        return PollingChangeListener(self.settings.pipeline.watch_poll_interval_seconds)

    def watching(self) -> MediaWatching:
        """Watches on this process's one change feed (built once, shared by every server)."""
        if self.change_feed is None:
            self.change_feed = ChangeFeed(self.ctx, self.change_listener())
        return MediaWatching(
            self.ctx,
            max_seconds=self.settings.pipeline.watch_max_seconds,
            feed=self.change_feed,
            max_per_principal=self.settings.streams.watch_per_principal,
            retry_after_seconds=self.settings.streams.retry_after_seconds,
        )

    def servicer(self, kind: type[MediaServicer] = MediaServicer, **replaced: Any) -> MediaServicer:
        """The servicer over this application's use cases. Tests of a server that answers
        otherwise in one respect give a subclass as ``kind``, or ``replaced`` use cases."""
        parts: dict[str, Any] = {
            "posts": PostMedia(self.ctx),
            "deletion": MediaDeletion(self.ctx),
            "retries": ProcessingRetries(
                self.ctx,
                self.settings.limits,
                self.job_time_limit,
                rates=self.uploads.rates,
                restore_days=self.settings.storage.restore_days,
            ),
            "imports": self.imports(),
        }
        if "watching" not in replaced:  # the change feed is built once, and only when used
            parts["watching"] = self.watching()
        return kind(self.uploads, self.queries, self.messages, **{**parts, **replaced})

    def imports(self) -> MediaImports:
        """ImportMedia and ResolveLegacyUrl, fetching under the MEDIA_IMPORT__ policy."""
        return MediaImports(
            self.ctx,
            PolicyUrlFetcher(self.settings.import_),
            self.settings.uploads,
            self.settings.import_,
        )

    def job_time_limit(self, purpose: Purpose) -> float | None:
        """The wall-clock limit configured for a purpose's processing jobs, if any."""
        if purpose.is_video:
            return self.settings.video.job_time_limit_seconds
        return self.settings.image.job_time_limit_seconds

    def serve(self, address: str | None = None, *, reuse_port: bool = False) -> RunningServer:
        self.settings.check_listen(address or self.settings.grpc_listen)
        return create_server(
            self.servicer(),
            self.verifier,
            address or self.settings.grpc_listen,
            credentials=server_credentials(self.settings.tls),
            max_workers=self.settings.grpc_max_workers,
            reuse_port=reuse_port,
            streams=self.settings.streams,
            reflection_enabled=self.settings.serves_reflection,
        )

    def cleanup(self) -> CleanupService:
        """The lifecycle sweeps (``media-grpc cleanup`` and the worker's schedule)."""
        return CleanupService(self.ctx, self.settings.lifecycle)

    def hash_backfill(self) -> HashBackfill:
        """The verified-hash backfill of media READY before migration 0008 (``media-grpc
        dedupe backfill``)."""
        return HashBackfill(self.ctx)

    def close(self) -> None:
        if self.change_feed is not None:
            self.change_feed.close()
        self.engine.dispose()
        if self.local_s3 is not None:
            self.local_s3.stop()


def _create_public_read_bucket(client: Any, bucket: str) -> None:
    """The embedded bucket serves derivatives anonymously, standing in for a CDN; originals
    stay private (the same policy ``storage init`` writes)."""
    ensure_bucket(client, bucket, "us-east-1")  # kept across restarts: it may exist
    policy = {"Version": "2012-10-17", "Statement": [public_read_statement(bucket)]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _object_storage(settings: Settings) -> tuple[Any, str | None, LocalS3 | None]:
    """The S3 client, its endpoint, and in the embedded default the local S3 endpoint serving
    it (started, its bucket set up as `storage init` would)."""
    local_s3 = None
    endpoint = settings.s3_endpoint_url
    access_key = settings.s3_access_key_id
    secret_key = (
        settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
    )
    if settings.embeds_s3:
        local_s3 = LocalS3(settings.embedded_s3_port, settings.data_dir / "s3")
        endpoint = local_s3.start()
        access_key, secret_key = EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
        log.info("embedded S3 endpoint on %s", endpoint)
    client = build_s3_client(
        endpoint, settings.s3_region, access_key, secret_key, settings.s3_addressing_style
    )
    if local_s3 is not None:
        _create_public_read_bucket(client, settings.s3_bucket)
        ensure_cors(client, settings.s3_bucket, settings.storage)  # as `storage init` writes it
    return client, endpoint, local_s3


def _service_context(
    engine: Engine, storage: BlobStorage, *, audit_events: bool
) -> tuple[ServiceContext, OutboxSignal]:
    """What every use case runs with: units of work (a status change NOTIFYs, an outbox row
    wakes the relay through the signal, a change writes its audit event), autocommit reads,
    and the blob storage."""
    session_factory = build_session_factory(engine)
    install_status_notifications(session_factory)
    outbox_signal = OutboxSignal()
    read_factory = build_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    ctx = ServiceContext(
        uow=lambda: SqlAlchemyUnitOfWork(session_factory, outbox_signal, audit_events=audit_events),
        storage=storage,
        read=lambda: SqlAlchemyUnitOfWork(read_factory),
    )
    return ctx, outbox_signal


def build_application(settings: Settings, *, migrate: bool | None = None) -> Application:
    """Build from settings. ``migrate`` defaults to True for the embedded SQLite database."""
    settings.check_runnable()
    client, endpoint, local_s3 = _object_storage(settings)
    engine = build_engine(
        settings.resolved_database_url,
        pool_size=max(settings.database_pool_size, settings.grpc_max_workers),
    )
    if migrate if migrate is not None else settings.database_url is None:
        upgrade_to_head(engine)
    storage = S3BlobStorage(client, settings.s3_bucket, part_bytes=settings.uploads.part_size_bytes)
    ctx, outbox_signal = _service_context(
        engine, storage, audit_events=settings.lifecycle.audit_events
    )
    if local_s3 is not None and local_s3.restored.lost:
        lost = {o.key: o.reason for o in local_s3.restored.lost if o.bucket == settings.s3_bucket}
        fail_media_of_lost_objects(ctx, lost)
    cdn = settings.cdn_base_url or f"{endpoint}/{settings.s3_bucket}"
    return Application(
        settings=settings,
        engine=engine,
        storage=storage,
        s3_client=client,
        ctx=ctx,
        uploads=UploadService(
            ctx,
            settings.uploads,
            admission=UploadAdmission(settings.limits),
            rates=OwnerRates(settings.limits, SqlAlchemyCallRates(engine)),
        ),
        queries=MediaQueries(
            ctx,
            page_key=settings.auth.page_token_key(),
            original_url_ttl_seconds=settings.storage.original_url_ttl_seconds,
        ),
        messages=MediaMessages(cdn),
        verifier=TokenVerifier(settings.auth),
        outbox_signal=outbox_signal,
        local_s3=local_s3,
    )


def build_storage_client(settings: Settings) -> Any:
    """A client for the configured bucket alone (``storage`` commands need no database).

    In the embedded default it talks to the local S3 endpoint of a running ``media-grpc serve``.
    """
    access_key = settings.s3_access_key_id
    secret = settings.s3_secret_access_key
    secret_key = secret.get_secret_value() if secret else None
    if settings.embeds_s3:
        access_key, secret_key = EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
    return build_s3_client(
        settings.resolved_s3_endpoint_url,
        settings.s3_region,
        access_key,
        secret_key,
        settings.s3_addressing_style,
    )
