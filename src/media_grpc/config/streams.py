"""Settings of server-streaming RPCs and the serving core (MEDIA_STREAMS__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StreamSettings(BaseModel):
    """Bounds on open streams (WatchMedia, health Watch, reflection), which live on the event
    loop and hold no RPC thread."""

    #: Streams open at once on one server process; the next is refused with
    #: RESOURCE_EXHAUSTED and RetryInfo. Also how many new calls grpc core queues in a burst
    #: before it refuses some (api/server.py ``pending_call_limits``).
    max_open: int = Field(default=10_000, ge=1)
    #: WatchMedia streams one principal (token subject) may hold open at once.
    watch_per_principal: int = Field(default=32, ge=1)
    #: Longest life of any stream, in seconds; it then ends with OK and the client re-opens it.
    max_seconds: float = Field(default=3600.0, gt=0)
    #: A stream that sent nothing for this many seconds ends with OK (the client re-opens it).
    #: Applies to WatchMedia and reflection; health Watch is bounded by ``max_seconds`` alone.
    idle_seconds: float = Field(default=900.0, gt=0)
    #: Seconds a refused client is told to wait (RetryInfo).
    retry_after_seconds: float = Field(default=5.0, ge=0)
    #: Serve gRPC server reflection. Unset: on in development, off in production.
    reflection: bool | None = None
