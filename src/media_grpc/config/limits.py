"""Settings of per-owner limits on upload sessions (MEDIA_LIMITS__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: The (burst, rate) fields of each per-owner token bucket.
BUCKETS = (
    ("upload_session_burst", "upload_sessions_per_second"),
    ("part_urls_burst", "part_urls_per_second"),
    ("completion_burst", "completions_per_second"),
    ("retry_burst", "retries_per_second"),
)


class LimitSettings(BaseModel):
    """A token bucket per owner on CreateUploadSession, and a cap on open sessions.

    Both live in the database (service/limits.py): they hold across every server process, and
    an owner's calls are serialised on the owner's bucket row, so the PENDING cap is exact.
    """

    #: Sustained CreateUploadSession calls per second and owner (the bucket's refill rate).
    upload_sessions_per_second: float = Field(default=1.0, gt=0)
    #: Calls an owner may make at once before the rate applies (the bucket's size).
    upload_session_burst: int = Field(default=20, ge=1)
    #: PENDING, unexpired sessions an owner may hold at once; 0 turns the cap off.
    max_pending_sessions: int = Field(default=50, ge=0)

    #: GetUploadPartUrls calls per second and owner, and the burst before that rate applies.
    part_urls_per_second: float = Field(default=5.0, gt=0)
    part_urls_burst: int = Field(default=100, ge=1)
    #: CompleteUpload calls per second and owner, and the burst before that rate applies.
    completions_per_second: float = Field(default=2.0, gt=0)
    completion_burst: int = Field(default=40, ge=1)
    #: RetryProcessing calls per second and owner, and the burst before that rate applies.
    retries_per_second: float = Field(default=0.1, gt=0)
    retry_burst: int = Field(default=5, ge=1)
    #: RetryProcessing calls accepted per media; 0 refuses every manual retry.
    max_retries_per_media: int = Field(default=3, ge=0)

    def longest_refill(self) -> tuple[float, str]:
        """Seconds the slowest bucket takes to refill from empty (burst / rate), and the
        settings it comes from. A bucket untouched that long is full: as if it had no row."""
        return max(
            (
                getattr(self, burst) / getattr(self, rate),
                f"MEDIA_LIMITS__{burst.upper()} / MEDIA_LIMITS__{rate.upper()}",
            )
            for burst, rate in BUCKETS
        )
