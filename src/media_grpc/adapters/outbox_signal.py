"""Wakes this process's outbox relay when a transaction commits new outbox rows.

Without it a lone job waits for the relay's next poll (``MEDIA_PIPELINE__RELAY_POLL_INTERVAL_
SECONDS``); with it the relay starts at once. Relays in other processes still poll.
"""

from __future__ import annotations

import threading


class OutboxSignal:
    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        """Rows were committed (or the relay should stop waiting)."""
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Sleep until notified or ``timeout`` seconds pass; True when notified."""
        notified = self._event.wait(timeout)
        self._event.clear()
        return notified
