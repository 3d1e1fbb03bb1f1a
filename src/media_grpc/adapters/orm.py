"""Table definitions (SQLAlchemy 2 declarative). Alembic migrations mirror this file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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

    __table_args__ = (
        Index("ix_media_owner_idempotency", "owner_id", "idempotency_key", unique=True),
        Index("ix_media_owner_created", "owner_id", "created_at", "id"),
        Index("ix_media_status_expires", "status", "expires_at"),
        # The lifecycle cleanup's sweeps of READY and DELETED media by age.
        Index("ix_media_status_updated", "status", "updated_at"),
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
