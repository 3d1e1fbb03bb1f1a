"""Running the cleanup every few minutes inside a long-lived process (a worker, or `serve`
in the embedded default)."""

from __future__ import annotations

import logging
import threading

from media_grpc.domain.errors import Unavailable
from media_grpc.service.cleanup import CleanupService

log = logging.getLogger(__name__)


class ScheduledCleanup:
    """A loop calling ``service.run()`` every ``interval`` seconds until ``request_stop()``;
    the process runtime runs it on a thread of its own (``runtime/process_runtime.py``).

    A run that fails (database or storage down) is logged and tried again at the next tick.
    """

    def __init__(self, service: CleanupService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._stopping = threading.Event()

    @property
    def enabled(self) -> bool:
        """False with ``interval`` 0: the schedule is off and needs no thread."""
        return self.interval > 0

    def request_stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        """Until ``request_stop()``; returns at once when the schedule is off."""
        if not self.enabled:
            return
        while not self._stopping.wait(self.interval):
            try:
                self.service.run()
            except Unavailable as e:  # the database or the storage (BlobStorageUnavailable)
                log.warning("scheduled cleanup failed, trying again later: %s", e)
            except Exception:
                log.exception("scheduled cleanup failed")
