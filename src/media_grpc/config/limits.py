"""Settings of per-owner limits on upload sessions (MEDIA_LIMITS__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
