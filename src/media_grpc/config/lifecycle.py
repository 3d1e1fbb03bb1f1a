"""Settings of the lifecycle sweeps: `media-grpc cleanup` and the worker (MEDIA_LIFECYCLE__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: Seconds added to the longest refill for clocks of servers that disagree: the retention of
#: rate-limit buckets must be at least both (checked with the whole Settings).
RATE_BUCKET_CLOCK_SKEW_SECONDS = 60.0


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
    #: Minutes an UPLOADED or PROCESSING media may go unchanged before the cleanup queues a
    #: fresh job for it (a job lost with a process, or a broker message lost). Keep it above the
    #: longest job (MEDIA_VIDEO__JOB_TIME_LIMIT_SECONDS, 15 min) plus the queue's wait: a media
    #: still processing is reset to UPLOADED and its running job's result is discarded.
    stuck_after_minutes: float = Field(default=60.0, gt=0)
    #: Hours a published outbox row is kept (to see what was sent, and when) before the
    #: cleanup deletes it.
    outbox_retention_hours: float = Field(default=24.0, ge=0)
    #: Seconds a per-owner rate-limit bucket (``owner_limit``, ``owner_call_rate``) may go
    #: unused before the cleanup deletes its row. A bucket unused for its full refill (burst /
    #: rate of MEDIA_LIMITS__*) is full, as a missing row is: callers see no difference. At
    #: least the longest refill plus RATE_BUCKET_CLOCK_SKEW_SECONDS.
    rate_bucket_retention_seconds: float = Field(default=3600.0, gt=0)
    #: Whether every change to a media writes an audit event (ListMediaEvents). Off only to
    #: measure what the events cost; what was recorded is kept and listed either way.
    audit_events: bool = True
    #: Days an audit event is kept after it occurred, whatever became of its media; the
    #: cleanup deletes older ones in batches.
    audit_retention_days: float = Field(default=365.0, gt=0)
