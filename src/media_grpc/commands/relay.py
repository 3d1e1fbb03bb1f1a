"""`media-grpc relay`: publish the outbox to RabbitMQ on its own (the server also runs one)."""

from __future__ import annotations

import argparse
import logging

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.metrics import serve_metrics

log = logging.getLogger("media_grpc.relay")


def register(subparsers: Subparsers) -> None:
    add_command(subparsers, "relay", run)


def run(args: argparse.Namespace) -> int:
    """publish pending outbox jobs to RabbitMQ"""
    from media_grpc.bootstrap import build_application
    from media_grpc.pipeline_bootstrap import build_pipeline
    from media_grpc.runtime.process_runtime import ProcessRuntime

    settings = Settings()
    if not settings.broker_url:
        raise SettingsError("media-grpc relay needs MEDIA_BROKER_URL")
    runtime = ProcessRuntime("relay")
    app = build_application(settings, migrate=False)
    runtime.on_stop("application", app.close)
    relay = build_pipeline(app).relay
    runtime.on_stop("outbox relay", relay.close)
    runtime.when_stop_requested(relay.request_stop)
    runtime.handle_signals()
    log.info("relaying the outbox to %s", settings.broker_prefix)
    endpoint = serve_metrics(settings)
    if endpoint is not None:
        runtime.on_stop("metrics endpoint", endpoint.stop)
    try:
        relay.run()  # on this thread, until a stop is asked for
    finally:
        runtime.stop()
    return 0
