"""The storage check that `media-grpc storage check` prints and `serve` runs at start-up."""

from __future__ import annotations

import logging
import threading
from typing import Any

from media_grpc.adapters.storage_conformance import StorageCheckError, run_conformance
from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.service.storage_report import StorageReport

log = logging.getLogger("media_grpc.storage")

#: An origin ``storage check`` expects the bucket's CORS rules to refuse.
DISALLOWED_ORIGIN = "https://storage-check.invalid"


def is_development_endpoint(settings: Settings) -> bool:
    return settings.embeds_s3 or settings.storage.development_endpoint


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
