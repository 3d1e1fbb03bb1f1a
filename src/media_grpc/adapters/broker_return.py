"""Noticing the broker's return at once instead of at the next backoff.

While the broker is away, the relay and the workers back off between attempts to reach it, up
to a couple of seconds. Between attempts they check, every ``PROBE_SECONDS``, whether its port
accepts a TCP connection, and try again as soon as it does: jobs flow again within a fraction
of a second of the broker's return, while a broker that stays away still gets a full attempt
only every backoff.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlparse

#: Seconds between two checks of the broker's port while waiting out a backoff.
PROBE_SECONDS = 0.25
AMQP_PORT = 5672
AMQPS_PORT = 5671


def broker_address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    default = AMQPS_PORT if parsed.scheme == "amqps" else AMQP_PORT
    return parsed.hostname or "localhost", parsed.port or default


def answers(address: tuple[str, int], timeout: float = PROBE_SECONDS) -> bool:
    """Whether ``address`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_broker(url: str, seconds: float, stop: threading.Event) -> None:
    """Wait ``seconds`` (a backoff), ``stop``, or until the broker's port answers, whichever
    comes first; at least ``PROBE_SECONDS`` (or ``seconds`` if shorter), so that a broker that
    answers TCP but refuses AMQP (still booting) is not tried in a tight loop."""
    address = broker_address(url)
    deadline = time.monotonic() + seconds
    while not stop.wait(max(0.0, min(PROBE_SECONDS, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or answers(address):
            return
