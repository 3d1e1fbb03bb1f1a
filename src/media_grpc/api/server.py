"""Building the gRPC server: MediaService, health, reflection, interceptors, on grpc.aio.

The server runs on the process's asyncio event loop, in a thread of its own (``grpc-aio``). Streams
(WatchMedia, health Watch, reflection) are coroutines on that loop and hold no thread; the
unary MediaService methods stay synchronous and run in the bounded migration thread pool
(``grpc_max_workers`` threads). Callers keep a synchronous handle: ``RunningServer``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from media.v1 import media_pb2, media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.api.auth_interceptor import AuthInterceptor
from media_grpc.api.errors import ErrorInterceptor
from media_grpc.api.observing import ObservingInterceptor, UploadMetricsInterceptor
from media_grpc.api.servicer import MediaServicer
from media_grpc.api.streams import StreamLimitInterceptor
from media_grpc.api.transaction_retry import TransactionRetryInterceptor
from media_grpc.config.streams import StreamSettings

SERVICE_NAME = media_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name

T = TypeVar("T")


class EventLoopThread:
    """An asyncio event loop running in a daemon thread, and a way to run coroutines on it.

    ``shared()`` is the process's one loop: every server of the process (and its change feed)
    lives there, so that streams of all of them are fanned out from one feed.
    """

    _shared: EventLoopThread | None = None
    _lock = threading.Lock()

    def __init__(self, name: str = "grpc-aio") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    @classmethod
    def shared(cls) -> EventLoopThread:
        with cls._lock:
            if cls._shared is None or not cls._shared.thread.is_alive():
                cls._shared = cls()
            return cls._shared

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result from this (other) thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class HealthControl:
    """Synchronous access to the aio health servicer living on the server's loop."""

    def __init__(self, servicer: health_aio.HealthServicer, loop: EventLoopThread) -> None:
        self.servicer = servicer
        self._loop = loop

    def set(self, service: str, status: int) -> None:
        self._loop.run(self.servicer.set(service, status))  # type: ignore[arg-type]

    def enter_graceful_shutdown(self) -> None:
        self._loop.run(self.servicer.enter_graceful_shutdown())


@dataclass(eq=False)
class RunningServer:
    """A started server, the port it bound and its health servicer."""

    server: grpc.aio.Server
    port: int
    health: HealthControl
    #: The event loop thread the server runs on.
    loop: EventLoopThread
    #: The thread pool of the unary methods, shut down after the server stops.
    pool: futures.ThreadPoolExecutor | None = field(default=None, init=False)
    stopped: bool = field(default=False, init=False)

    def stop(self, grace: float | None = 5.0, *, drain: float = 0.0) -> None:
        """Report NOT_SERVING, then let in-flight RPCs finish within ``grace`` seconds.

        ``drain`` seconds pass between the two, still taking new RPCs, so that load balancers
        probing health see NOT_SERVING and stop sending calls before the server refuses them.
        Open streams are cancelled when the grace period ends.
        """
        if self.stopped:
            return
        self.stopped = True
        self.health.enter_graceful_shutdown()
        if drain > 0:
            time.sleep(drain)
        self.loop.run(self.server.stop(grace))
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def create_server(
    servicer: MediaServicer,
    verifier: TokenVerifier,
    address: str,
    *,
    max_workers: int = 32,
    credentials: grpc.ServerCredentials | None = None,
    reuse_port: bool = False,
    streams: StreamSettings | None = None,
    reflection_enabled: bool = True,
) -> RunningServer:
    """Bind and start. Port 0 picks a free port. SO_REUSEPORT is off, so ports are never
    shared, unless ``reuse_port``: then server processes started alike share the port and
    the kernel spreads connections over them (commands/serve.py, MEDIA_GRPC_PROCESSES).

    With ``credentials`` (api/tls.py) the port speaks TLS only. ``max_workers`` threads run
    the unary calls; streams run on the event loop and are bounded by ``streams``.
    """
    loop = EventLoopThread.shared()
    pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc")
    try:
        server, port, health_servicer = loop.run(
            _start(
                servicer,
                verifier,
                address,
                pool,
                credentials,
                streams or StreamSettings(),
                reflection_enabled,
                reuse_port,
            )
        )
    except BaseException:
        pool.shutdown(wait=False)
        raise
    running = RunningServer(server, port, HealthControl(health_servicer, loop), loop)
    running.pool = pool
    return running


#: grpc core's own bound on calls that arrived but the server has not taken up yet.
GRPC_DEFAULT_MAX_PENDING = 1_000


def pending_call_limits(streams: StreamSettings) -> list[tuple[str, int]]:
    """Room for a burst of new calls as large as the stream cap.

    grpc core queues a call that arrives before the server asks for the next one; past 1,000
    queued calls it refuses new ones at random with RESOURCE_EXHAUSTED ("Too many pending
    requests"), all of them past 3,000. The aio server takes calls up one at a time on its event
    loop, so a burst of new streams (thousands of watchers reconnecting) would be refused by
    that hidden default, without RetryInfo, before ``StreamLimitInterceptor`` decides (and a
    grpc.aio 1.85 client was seen not to report that refusal: its stream never answered).
    """
    soft = max(GRPC_DEFAULT_MAX_PENDING, streams.max_open)
    return [
        ("grpc.server.max_pending_requests", soft),
        ("grpc.server.max_pending_requests_hard_limit", 2 * soft),
    ]


def connection_limits(streams: StreamSettings) -> list[tuple[str, int]]:
    """HTTP/2 bounds of each connection: concurrent streams, the server's keepalive pings (a
    dead peer's connection and streams are freed), how often a client may ping (faster pingers
    get GOAWAY after ``max_ping_strikes``), and idle connections closed."""

    def ms(seconds: float) -> int:
        return int(seconds * 1000)

    return [
        ("grpc.max_concurrent_streams", streams.max_concurrent_streams_per_connection),
        ("grpc.keepalive_time_ms", ms(streams.keepalive_seconds)),
        ("grpc.keepalive_timeout_ms", ms(streams.keepalive_timeout_seconds)),
        # grpc core closes a connection on an unanswered ping after the ping timeout (its
        # keepalive timeout alone is not enforced: grpc/grpc#39239); default one minute.
        ("grpc.http2.ping_timeout_ms", ms(streams.keepalive_timeout_seconds)),
        # Keep pinging a connection whose streams send nothing (an idle health Watch): grpc
        # otherwise stops after two pings without data and spaces them 5 minutes apart.
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_time_between_pings_ms", ms(streams.keepalive_seconds)),
        ("grpc.keepalive_permit_without_calls", 0),
        (
            "grpc.http2.min_ping_interval_without_data_ms",
            ms(streams.min_client_ping_interval_seconds),
        ),
        ("grpc.http2.max_ping_strikes", streams.max_ping_strikes),
        ("grpc.max_connection_idle_ms", ms(streams.max_connection_idle_seconds)),
    ]


async def _start(
    servicer: MediaServicer,
    verifier: TokenVerifier,
    address: str,
    pool: futures.ThreadPoolExecutor,
    credentials: grpc.ServerCredentials | None,
    streams: StreamSettings,
    reflection_enabled: bool,
    reuse_port: bool,
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    server = grpc.aio.server(
        migration_thread_pool=pool,
        interceptors=[
            ObservingInterceptor(),
            AuthInterceptor(verifier),
            ErrorInterceptor(),
            UploadMetricsInterceptor(),
            StreamLimitInterceptor(streams),
            TransactionRetryInterceptor(),
        ],
        options=[
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            *pending_call_limits(streams),
            *connection_limits(streams),
        ],
    )
    media_pb2_grpc.add_MediaServiceServicer_to_server(servicer, server)
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_enabled:
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    try:
        port = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as e:
        raise OSError(f"could not bind gRPC address {address}: {e}") from None
    if port == 0:
        raise OSError(f"could not bind gRPC address {address}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer
