"""`media-grpc worker`: consume processing jobs from RabbitMQ until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from media_grpc.bootstrap import build_application
from media_grpc.config import Settings, SettingsError
from media_grpc.domain.model import JobKind
from media_grpc.observability.metrics import serve_metrics
from media_grpc.service.cleanup_schedule import ScheduledCleanup

log = logging.getLogger("media_grpc.worker")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("worker", help="process uploaded media from RabbitMQ")
    parser.add_argument(
        "--kinds",
        default="image,video",
        help="job kinds to consume, comma-separated (default: image,video)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from media_grpc.pipeline_bootstrap import build_consumer

    settings = Settings()
    if not settings.broker_url:
        raise SettingsError(
            "media-grpc worker needs MEDIA_BROKER_URL; without it `media-grpc serve` "
            "processes uploads itself"
        )
    kinds = [JobKind(k.strip().upper()) for k in args.kinds.split(",") if k.strip()]
    app = build_application(settings, migrate=False)
    consumer = build_consumer(app, kinds)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %s: finishing current jobs, then exiting", signum)
        consumer.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    endpoint = serve_metrics(settings)
    scheduled = ScheduledCleanup(app.cleanup(), settings.lifecycle.interval_seconds).start()
    try:
        consumer.run()
    finally:
        scheduled.stop()
        if endpoint is not None:
            endpoint.stop()
        app.close()
    log.info("worker stopped")
    return 0
