"""Settings of the lifecycle sweeps: `media-grpc cleanup` and the worker (MEDIA_LIFECYCLE__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LifecycleSettings(BaseModel):
    """How long media may linger and how the cleanup works through them."""

    #: Hours a READY media may stay unattached to a post before it is deleted (profile images
    #: are exempt: they belong to a user, not a post).
    unattached_ttl_hours: float = Field(default=24.0, gt=0)
    #: Hours a DELETED media's record is kept (for audits and late watchers) before it is purged.
    deleted_retention_hours: float = Field(default=168.0, ge=0)
    #: Media claimed per transaction; a run loops over batches until nothing is left.
    batch_size: int = Field(default=100, ge=1, le=10_000)
    #: Seconds between two cleanup runs inside a worker; 0 turns the scheduled cleanup off.
    interval_seconds: float = Field(default=300.0, ge=0)
