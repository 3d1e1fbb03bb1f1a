"""Settings of server-streaming RPCs and the serving core (MEDIA_STREAMS__*)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, model_validator


class StreamSettings(BaseModel):
    """Bounds on open streams (WatchMedia, health Watch, reflection), which live on the event
    loop and hold no RPC thread, and on the HTTP/2 connections they arrive on.

    Streams anyone may open without a token (health Watch, reflection) have a budget of their
    own, smaller than ``max_open``: the difference is a reserve that only authenticated streams
    (WatchMedia) can use, so that a flood of strangers never refuses a signed-in user's watch.
    """

    #: Streams open at once on one server process; the next is refused with
    #: RESOURCE_EXHAUSTED and RetryInfo. Also how many new calls grpc core queues in a burst
    #: before it refuses some (api/server.py ``pending_call_limits``).
    max_open: int = Field(default=10_000, ge=2)
    #: Unauthenticated streams (health Watch, reflection) open at once on one server process.
    #: Must be below ``max_open``: ``max_open - public_max_open`` streams stay for callers with
    #: a token.
    public_max_open: int = Field(default=1_000, ge=1)
    #: Unauthenticated streams one peer address (an IP, whatever its ports) may hold open.
    #: Behind a proxy that hides client addresses every client is one peer: raise it there.
    public_per_peer: int = Field(default=64, ge=1)
    #: Unauthenticated streams one connection (peer address and port) may hold open.
    public_per_connection: int = Field(default=16, ge=1)
    #: An unauthenticated stream that sent nothing for this many seconds ends with OK (a health
    #: watcher re-opens it and gets the current status).
    public_idle_seconds: float = Field(default=300.0, gt=0)
    #: WatchMedia streams one principal (token subject) may hold open at once.
    watch_per_principal: int = Field(default=32, ge=1)
    #: Longest life of any stream, in seconds; it then ends with OK and the client re-opens it.
    max_seconds: float = Field(default=3600.0, gt=0)
    #: A stream with a token that sent nothing for this many seconds ends with OK (the client
    #: re-opens it).
    idle_seconds: float = Field(default=900.0, gt=0)
    #: Seconds a refused client is told to wait (RetryInfo).
    retry_after_seconds: float = Field(default=5.0, ge=0)
    #: Serve gRPC server reflection. Unset: on in development, off in production.
    reflection: bool | None = None
    #: HTTP/2 streams (calls of any kind) one connection may have open at once
    #: (SETTINGS_MAX_CONCURRENT_STREAMS); a client queues the calls past it.
    max_concurrent_streams_per_connection: int = Field(default=1_000, ge=1)
    #: Seconds between the server's keepalive pings on a connection; a connection that does not
    #: answer one within ``keepalive_timeout_seconds`` is closed (dead peers free their streams).
    keepalive_seconds: float = Field(default=120.0, gt=0)
    #: Seconds the server waits for a keepalive ping's answer.
    keepalive_timeout_seconds: float = Field(default=20.0, gt=0)
    #: Shortest interval, in seconds, a client may ping at while there are no data frames; a
    #: client pinging faster gets ``max_ping_strikes`` warnings, then GOAWAY.
    min_client_ping_interval_seconds: float = Field(default=60.0, gt=0)
    #: Too-frequent client pings tolerated before the connection is closed.
    max_ping_strikes: int = Field(default=2, ge=1)
    #: A connection with no call for this many seconds is closed (GOAWAY); clients reconnect.
    max_connection_idle_seconds: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _reserve_for_authenticated(self) -> Self:
        if self.public_max_open >= self.max_open:
            raise ValueError(
                f"public_max_open ({self.public_max_open}) must be below max_open "
                f"({self.max_open}): the rest is the reserve of authenticated streams"
            )
        return self

    @property
    def authenticated_reserve(self) -> int:
        """Streams strangers can never take."""
        return self.max_open - self.public_max_open
