"""`media-grpc storage init|check`: set up the bucket; report what it enforces of presigned PUTs.

Exit codes of ``check``: 0 when every protection the service relies on is enforced (or the
endpoint is a development endpoint), 1 when one is missing, 2 when the check cannot run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

from media_grpc.adapters.storage_conformance import StorageCheckError, run_conformance
from media_grpc.adapters.storage_setup import StorageSetupError, set_up_bucket
from media_grpc.bootstrap import Application, build_storage_client
from media_grpc.config import Settings
from media_grpc.service.storage_report import StorageReport

log = logging.getLogger("media_grpc.storage")

#: An origin ``storage check`` expects the bucket's CORS rules to refuse.
DISALLOWED_ORIGIN = "https://storage-check.invalid"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("storage", help="set up and check the bucket")
    commands = parser.add_subparsers(dest="storage_command", required=True)
    init = commands.add_parser(
        "init", help="create the bucket, its CORS rule and its multipart clean-up rule"
    )
    init.set_defaults(handler=run_init)
    check = commands.add_parser(
        "check", help="report which protections of presigned uploads the storage enforces"
    )
    check.set_defaults(handler=run_check)


def is_development_endpoint(settings: Settings) -> bool:
    return settings.embeds_s3 or settings.storage.development_endpoint


def _unreachable_hint(settings: Settings) -> str:
    if settings.embeds_s3:
        return (
            " (the embedded S3 endpoint lives inside `media-grpc serve`: start it, "
            "or set MEDIA_S3_ENDPOINT_URL)"
        )
    return ""


def run_init(_args: argparse.Namespace) -> int:
    settings = Settings()
    client = build_storage_client(settings)
    try:
        lines = set_up_bucket(client, settings.s3_bucket, settings.s3_region, settings.storage)
    except StorageSetupError as e:
        print(f"media-grpc: storage init: {e}{_unreachable_hint(settings)}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def check_storage(client: Any, settings: Settings) -> StorageReport:
    """Run every probe against the configured bucket. Raises StorageCheckError."""
    results = run_conformance(
        client, settings.s3_bucket, settings.storage.cors_allowed_origins, DISALLOWED_ORIGIN
    )
    return StorageReport(
        endpoint=str(client.meta.endpoint_url),
        bucket=settings.s3_bucket,
        results=results,
        development=is_development_endpoint(settings),
    )


def run_check(_args: argparse.Namespace) -> int:
    settings = Settings()
    try:
        report = check_storage(build_storage_client(settings), settings)
    except StorageCheckError as e:
        print(f"media-grpc: storage check: {e}{_unreachable_hint(settings)}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return report.exit_code


def check_storage_on_startup(app: Application) -> threading.Thread | None:
    """Outside the embedded default, check the storage in the background and log what it lacks.

    Never blocks or fails start-up; off with ``MEDIA_STORAGE__CHECK_ON_STARTUP=false``.
    """
    if app.settings.embeds_s3 or not app.settings.storage.check_on_startup:
        return None
    thread = threading.Thread(
        target=_check_and_warn, args=(app.s3_client, app.settings), name="storage-check"
    )
    thread.daemon = True
    thread.start()
    return thread


def _check_and_warn(client: Any, settings: Settings) -> None:
    try:
        report = check_storage(client, settings)
    except StorageCheckError as e:
        log.warning("storage check at start-up could not run: %s", e)
        return
    except Exception:  # a background check must never take the server down
        log.exception("storage check at start-up failed")
        return
    if report.needs_attention:
        log.warning("%s", report.summary())
    else:
        log.info("storage at %s enforces every protection the service checks", report.endpoint)
