"""Table definitions (SQLAlchemy 2 declarative). Alembic migrations mirror this file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


#: The media a dedupe match may find: READY ones (with their verified sha256).
DEDUPE_CANDIDATES = "status = 'READY'"
#: Media sharing another's objects.
SHARING = "source_key IS NOT NULL"

#: Completed media whose upload key the late-PUT sweep has not deleted yet.
UNSWEPT = "etag IS NOT NULL AND upload_swept_at IS NULL"


class MediaRow(Base):
    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    declared_content_type: Mapped[str] = mapped_column(String(128))
    mime_type: Mapped[str] = mapped_column(String(128), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: The sha256 the processing job computed (the dedupe match); None until READY.
    verified_sha256: Mapped[str | None] = mapped_column(String(64))
    #: The storage key whose frozen original and outputs a deduplicated media shares.
    source_key: Mapped[str | None] = mapped_column(String(512))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    upload_id: Mapped[str | None] = mapped_column(String(1024))
    part_size: Mapped[int] = mapped_column(BigInteger, default=0)
    part_count: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str | None] = mapped_column(String(128))
    version_id: Mapped[str | None] = mapped_column(String(1024))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    failure_message: Mapped[str | None] = mapped_column(Text)
    hls_key: Mapped[str | None] = mapped_column(String(512))
    metadata_json: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    post_id: Mapped[str | None] = mapped_column(String(128), index=True)
    post_position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    upload_swept_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_media_owner_idempotency", "owner_id", "idempotency_key", unique=True),
        Index("ix_media_owner_created", "owner_id", "created_at", "id"),
        Index("ix_media_status_expires", "status", "expires_at"),
        # The lifecycle cleanup's sweeps of READY and DELETED media by age.
        Index("ix_media_status_updated", "status", "updated_at"),
        # The late-PUT sweep of completed media: only rows not swept yet.
        Index(
            "ix_media_unswept_uploads",
            "expires_at",
            postgresql_where=text(UNSWEPT),
            sqlite_where=text(UNSWEPT),
        ),
        # The dedupe match of CreateUploadSession: an owner's READY media by verified sha256.
        Index(
            "ix_media_dedupe",
            "owner_id",
            "purpose",
            "verified_sha256",
            postgresql_where=text(DEDUPE_CANDIDATES),
            sqlite_where=text(DEDUPE_CANDIDATES),
        ),
        # The reference check before a shared original and its outputs are deleted.
        Index(
            "ix_media_source_key",
            "source_key",
            postgresql_where=text(SHARING),
            sqlite_where=text(SHARING),
        ),
    )


class VariantRow(Base):
    __tablename__ = "media_variant"

    media_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(512))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    bitrate: Mapped[int] = mapped_column(BigInteger, default=0)
    mime_type: Mapped[str] = mapped_column(String(128), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class OutboxRow(Base):
    """A message to publish. Written in the same transaction as the change it announces."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    media_id: Mapped[str] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "published_at", "available_at"),)


class ImportRow(Base):
    """One legacy URL's import (see domain/imports.py); ``key`` hashes the idempotency key."""

    __tablename__ = "media_import"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_url: Mapped[str] = mapped_column(Text)
    #: sha256 of source_url, for ResolveLegacyUrl.
    url_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    media_id: Mapped[str] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    post_id: Mapped[str | None] = mapped_column(String(128))
    post_position: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProfileImageRow(Base):
    """An owner's current profile image; the row is also the per-owner lock that makes
    two profile images becoming READY at once end with exactly one current."""

    __tablename__ = "profile_image"

    owner_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    media_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("media.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OwnerLimitRow(Base):
    """One owner's CreateUploadSession token bucket. Its row is also the lock that serialises
    an owner's CreateUploadSession calls, so that the PENDING cap is exact across processes."""

    __tablename__ = "owner_limit"

    owner_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: Tokens left when last refilled (at most the burst).
    tokens: Mapped[float] = mapped_column(Float)
    #: When the bucket was last refilled, in seconds since the epoch (wall clock: the servers
    #: sharing the database share it).
    refilled_at: Mapped[float] = mapped_column(Float)


class OwnerCallRateRow(Base):
    """One owner's token bucket for one rated call (GetUploadPartUrls, CompleteUpload,
    RetryProcessing), shared by every server process (adapters/owner_call_rates.py)."""

    __tablename__ = "owner_call_rate"

    owner_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: The call's gRPC method name, e.g. ``CompleteUpload``.
    call: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Tokens left when last refilled (at most the burst, never below zero).
    tokens: Mapped[float] = mapped_column(Float)
    #: When the bucket was last refilled, in seconds since the epoch (wall clock).
    refilled_at: Mapped[float] = mapped_column(Float)
    #: Whether the last call took a token (what the upsert returns).
    admitted: Mapped[bool] = mapped_column(Boolean)


class MediaEventRow(Base):
    """The audit trail (domain/audit.py): append-only for the service, kept for
    ``MEDIA_LIFECYCLE__AUDIT_RETENTION_DAYS`` after the event, whatever became of the media."""

    __tablename__ = "media_event"

    #: The order events were recorded in, and the page tokens' position.
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    media_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str] = mapped_column(String(128))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    on_behalf_of: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str] = mapped_column(String(128), default="")
    #: The database's clock, at insert.
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        Index("ix_media_event_media", "media_id", "sequence"),
        Index("ix_media_event_owner", "owner_id", "sequence"),
        # The retention sweep and time-range listings.
        Index("ix_media_event_occurred", "occurred_at"),
    )
