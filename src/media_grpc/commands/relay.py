"""`media-grpc relay`: publish the outbox to RabbitMQ on its own (the server also runs one)."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from media_grpc.commands import add_command
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.metrics import serve_metrics

log = logging.getLogger("media_grpc.relay")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_command(subparsers, "relay", run)


def run(args: argparse.Namespace) -> int:
    """publish pending outbox jobs to RabbitMQ"""
    # Imported here: `media-grpc --help` and the client commands need none of it.
    from media_grpc.bootstrap import build_application
    from media_grpc.pipeline_bootstrap import build_pipeline

    settings = Settings()
    if not settings.broker_url:
        raise SettingsError("media-grpc relay needs MEDIA_BROKER_URL")
    app = build_application(settings, migrate=False)
    relay = build_pipeline(app).relay

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %s, stopping", signum)
        relay.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("relaying the outbox to %s", settings.broker_prefix)
    endpoint = serve_metrics(settings)
    try:
        relay.run()
    finally:
        relay.stop()
        if endpoint is not None:
            endpoint.stop()
        app.close()
    return 0
