"""`media-grpc serve`, assembled: the gRPC server and what runs beside it in the first process.

Beside the server run the child server processes (``MEDIA_GRPC_PROCESSES``), the metrics
endpoint, the outbox relay and, without a broker, the in-process worker (its stage pool) and
the cleanup schedule; outside the embedded default, a one-off storage check. Every one is
started through the ``ProcessRuntime``, which stops them on SIGTERM or SIGINT: the children
first (in parallel), then the server (``drain``, then ``grace``), the relay, the stage pool,
the cleanup, the metrics endpoint, and the application last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.observability.metrics import serve_metrics
from media_grpc.pipeline_bootstrap import Pipeline, build_pipeline
from media_grpc.runtime.heap import settle_heap
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.runtime.server_processes import check_processes, start_server_processes
from media_grpc.runtime.storage_check import check_storage_on_startup
from media_grpc.service.cleanup_schedule import ScheduledCleanup

log = logging.getLogger("media_grpc.serve")


@dataclass(frozen=True)
class ServeOptions:
    """What the ``serve`` command line says."""

    #: The address to bind; None: ``MEDIA_GRPC_LISTEN``.
    listen: str | None
    #: Seconds in-flight RPCs get to finish on shutdown.
    grace: float
    #: Seconds health reports NOT_SERVING before new RPCs are refused.
    drain: float
    #: The log level and format of the child server processes.
    logging: tuple[str, str]


def serve(settings: Settings, options: ServeOptions) -> int:
    """Serve until SIGTERM or SIGINT (0), or until a child server process exits (1)."""
    check_processes(settings)
    runtime = ProcessRuntime("serve")
    runtime.handle_signals()
    app = build_application(settings)
    runtime.on_stop("application", app.close)
    try:
        return _serve(runtime, app, options)
    finally:
        runtime.stop()


def _serve(runtime: ProcessRuntime, app: Application, options: ServeOptions) -> int:
    settings = app.settings
    if settings.broker_url is None:
        # The in-process queue lost whatever it held when this process last stopped.
        requeued = app.cleanup().requeue_stuck(app.ctx.now())
        log.info("in-process queue: %d media left UPLOADED or PROCESSING queued again", requeued)
    processes = settings.grpc_processes
    server = app.serve(options.listen, reuse_port=processes > 1)
    host = (options.listen or settings.grpc_listen).rsplit(":", 1)[0]
    start_server_processes(
        runtime,
        f"{host}:{server.port}",
        processes - 1,
        options.grace,
        options.drain,
        options.logging,
    )
    endpoint = serve_metrics(settings)
    if endpoint is not None:
        runtime.on_stop("metrics endpoint", endpoint.stop)
    if settings.broker_url is None:
        # Without a broker the worker runs inside this process, and so does its cleanup schedule.
        start_cleanup_schedule(runtime, app)
    start_pipeline(runtime, build_pipeline(app))
    runtime.on_stop("grpc server", lambda: server.stop(options.grace, drain=options.drain))
    log.info(
        "media-grpc serving on %s:%d (%s, %d server processes)",
        host,
        server.port,
        settings.environment,
        processes,
    )
    print(f"media-grpc serving on {host}:{server.port}", flush=True)
    check_storage_on_startup(runtime, app)
    settle_heap()
    return 1 if runtime.wait() else 0


def start_cleanup_schedule(runtime: ProcessRuntime, app: Application) -> None:
    """The lifecycle sweeps every ``MEDIA_LIFECYCLE__INTERVAL_SECONDS`` (none when 0)."""
    scheduled = ScheduledCleanup(app.cleanup(), app.settings.lifecycle.interval_seconds)
    if scheduled.enabled:
        runtime.start_loop("cleanup", scheduled.run, stop=scheduled.request_stop)


def start_pipeline(runtime: ProcessRuntime, pipeline: Pipeline) -> None:
    """The stage pool's children (in-process worker), then the relay feeding the queue."""
    if pipeline.pool is not None:
        pipeline.pool.start()
        runtime.on_stop("stage pool", pipeline.pool.close)
    relay = pipeline.relay
    runtime.start_loop(
        "outbox-relay", relay.run, stop=relay.request_stop, then=relay.close, join_seconds=10
    )
