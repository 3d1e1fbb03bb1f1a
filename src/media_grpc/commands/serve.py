"""`media-grpc serve`: run the gRPC server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from media_grpc.bootstrap import build_application
from media_grpc.commands.storage import check_storage_on_startup
from media_grpc.config import Settings
from media_grpc.observability.metrics import serve_metrics
from media_grpc.pipeline_bootstrap import build_pipeline
from media_grpc.service.cleanup_schedule import ScheduledCleanup

log = logging.getLogger("media_grpc.serve")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the gRPC server")
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    app = build_application(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %s, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = app.serve(args.listen)
    endpoint = serve_metrics(settings)
    # Without a broker the worker runs inside this process, and so does its cleanup schedule.
    scheduled = None
    if settings.broker_url is None:
        scheduled = ScheduledCleanup(app.cleanup(), settings.lifecycle.interval_seconds).start()
    pipeline = build_pipeline(app)
    pipeline.start()
    app.closers.append(pipeline.stop)
    host = (args.listen or settings.grpc_listen).rsplit(":", 1)[0]
    log.info("media-grpc serving on %s:%d (%s)", host, server.port, settings.environment)
    print(f"media-grpc serving on {host}:{server.port}", flush=True)
    check_storage_on_startup(app)
    try:
        stop.wait()
    finally:
        server.stop(args.grace, drain=args.drain)
        if scheduled is not None:
            scheduled.stop()
        if endpoint is not None:
            endpoint.stop()
        app.close()
    return 0
