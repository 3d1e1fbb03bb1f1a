"""`media-grpc worker`: consume processing jobs from RabbitMQ until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from types import FrameType

from media_grpc.commands import add_command
from media_grpc.config import Settings, SettingsError
from media_grpc.domain.model import JobKind
from media_grpc.observability.metrics import serve_metrics

log = logging.getLogger("media_grpc.worker")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(subparsers, "worker", run)
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=list(JobKind),
        help="job kinds to consume, comma-separated (default: image,video)",
    )


def _kinds(value: str) -> list[JobKind]:
    try:
        return [JobKind(k.strip().upper()) for k in value.split(",") if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: kinds are image and video") from None


def run(args: argparse.Namespace) -> int:
    """process uploaded media from RabbitMQ"""
    # Imported here: `media-grpc --help` and the client commands need none of it.
    from media_grpc.bootstrap import build_application
    from media_grpc.pipeline_bootstrap import build_consumer
    from media_grpc.service.cleanup_schedule import ScheduledCleanup

    settings = Settings()
    if not settings.broker_url or not settings.s3_endpoint_url:
        raise SettingsError(
            "media-grpc worker needs MEDIA_BROKER_URL and MEDIA_S3_ENDPOINT_URL (the server's "
            "storage); without a broker `media-grpc serve` processes uploads itself"
        )
    app = build_application(settings, migrate=False)
    consumer = build_consumer(app, args.kinds)

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
        abandoned = consumer.running
        scheduled.stop()
        if endpoint is not None:
            endpoint.stop()
        app.close()
    if abandoned:
        # Their messages are back in the queue; do not wait for the threads to finish.
        log.warning("worker stopped, abandoning %d running jobs", abandoned)
        logging.shutdown()
        os._exit(0)
    log.info("worker stopped")
    return 0
