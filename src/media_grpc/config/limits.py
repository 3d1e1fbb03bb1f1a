"""Settings of per-owner limits on upload sessions (MEDIA_LIMITS__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LimitSettings(BaseModel):
    """A token bucket per owner on CreateUploadSession, and a cap on open sessions.

    The bucket lives in each server process: with N server processes an owner gets up to N
    times the rate. The PENDING cap is counted in the database and holds across processes
    (two concurrent calls may both pass at the cap's edge).
    """

    #: Sustained CreateUploadSession calls per second and owner (the bucket's refill rate).
    upload_sessions_per_second: float = Field(default=1.0, gt=0)
    #: Calls an owner may make at once before the rate applies (the bucket's size).
    upload_session_burst: int = Field(default=20, ge=1)
    #: PENDING, unexpired sessions an owner may hold at once; 0 turns the cap off.
    max_pending_sessions: int = Field(default=50, ge=0)
