"""Running the cleanup every few minutes inside a long-lived process (a worker, or `serve`
in the embedded default)."""

from __future__ import annotations

import logging
import threading

from media_grpc.domain.errors import Unavailable
from media_grpc.service.cleanup import CleanupService

log = logging.getLogger(__name__)


class ScheduledCleanup:
    """A daemon thread calling ``service.run()`` every ``interval`` seconds until ``stop()``.

    A run that fails (database or storage down) is logged and tried again at the next tick.
    """

    def __init__(self, service: CleanupService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cleanup", daemon=True)

    def start(self) -> ScheduledCleanup:
        if self.interval > 0:
            self._thread.start()
        return self

    @property
    def started(self) -> bool:
        """Whether the thread was started (never, with ``interval`` 0)."""
        return self._thread.ident is not None

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.service.run()
            except Unavailable as e:  # the database or the storage (BlobStorageUnavailable)
                log.warning("scheduled cleanup failed, trying again later: %s", e)
            except Exception:
                log.exception("scheduled cleanup failed")
