"""`serve`'s storage check at start-up: a thread that runs ``storage check`` and logs the result."""

from __future__ import annotations

import logging
import threading
from typing import Any

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.storage_admin.checks import check_storage
from media_grpc.storage_admin.conformance import StorageCheckError

log = logging.getLogger("media_grpc.storage")


def check_storage_on_startup(runtime: ProcessRuntime, app: Application) -> threading.Thread | None:
    """Outside the embedded default, check the storage in the background and log what it lacks.

    Never blocks or fails start-up; off with ``MEDIA_STORAGE__CHECK_ON_STARTUP=false``.
    """
    if app.settings.embeds_s3 or not app.settings.storage.check_on_startup:
        return None
    # Not stopped at shutdown: a probe is a few short S3 calls, and the thread is a daemon.
    return runtime.start_thread("storage-check", _check_and_warn, app.s3_client, app.settings)


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
