"""`media-grpc serve`: run the gRPC server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from media_grpc.commands import add_command
from media_grpc.config import Settings
from media_grpc.observability.metrics import serve_metrics

if TYPE_CHECKING:
    from media_grpc.runtime.server_processes import ServerProcesses

log = logging.getLogger("media_grpc.serve")
#: Seconds between checks that the child server processes still run.
CHILD_POLL_SECONDS = 1.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(subparsers, "serve", run)
    parser.add_argument("--listen", help="address to bind (default: MEDIA_GRPC_LISTEN)")
    parser.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds in-flight RPCs get to finish on shutdown (default 10)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=0.0,
        help="seconds health reports NOT_SERVING before new RPCs are refused (default 0)",
    )


def run(args: argparse.Namespace) -> int:
    """run the gRPC server"""
    # Imported here: `media-grpc --help` and the client commands need none of it.
    from media_grpc.bootstrap import build_application
    from media_grpc.pipeline_bootstrap import build_pipeline
    from media_grpc.runtime.heap import settle_heap
    from media_grpc.runtime.server_processes import ServerProcesses, check_processes
    from media_grpc.runtime.storage_check import check_storage_on_startup
    from media_grpc.service.cleanup_schedule import ScheduledCleanup

    settings = Settings()
    check_processes(settings)
    app = build_application(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %s, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if settings.broker_url is None:
        # The in-process queue lost whatever it held when this process last stopped.
        requeued = app.cleanup().requeue_stuck(app.ctx.now())
        log.info("in-process queue: %d media left UPLOADED or PROCESSING queued again", requeued)
    processes = settings.grpc_processes
    server = app.serve(args.listen, reuse_port=processes > 1)
    host = (args.listen or settings.grpc_listen).rsplit(":", 1)[0]
    children = ServerProcesses(
        f"{host}:{server.port}",
        processes - 1,
        args.grace,
        args.drain,
        (args.log_level, args.log_format or ("json" if settings.is_production else "text")),
    ).start()
    endpoint = serve_metrics(settings)
    # Without a broker the worker runs inside this process, and so does its cleanup schedule.
    scheduled = None
    if settings.broker_url is None:
        scheduled = ScheduledCleanup(app.cleanup(), settings.lifecycle.interval_seconds).start()
    pipeline = build_pipeline(app)
    pipeline.start()
    app.closers.append(pipeline.stop)
    log.info(
        "media-grpc serving on %s:%d (%s, %d server processes)",
        host,
        server.port,
        settings.environment,
        processes,
    )
    print(f"media-grpc serving on {host}:{server.port}", flush=True)
    check_storage_on_startup(app)
    settle_heap()
    failed = False
    try:
        failed = _wait(stop, children)
    finally:
        children.signal()
        server.stop(args.grace, drain=args.drain)
        children.join()
        if scheduled is not None:
            scheduled.stop()
        if endpoint is not None:
            endpoint.stop()
        app.close()
    return 1 if failed else 0


def _wait(stop: threading.Event, children: ServerProcesses) -> bool:
    """Until a signal (False) or until a child server process exits on its own (True: the
    whole serve stops, so that its supervisor restarts it with every process)."""
    while not stop.wait(CHILD_POLL_SECONDS if children.processes else None):
        exited = children.exited()
        if exited:
            for process in exited:
                log.error("server process %s exited (code %s)", process.pid, process.exitcode)
            return True
    return False
