"""Waiting for a condition with a bounded deadline, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(value: Callable[[], T], what: str, timeout: float = 10) -> T:
    """The first truthy ``value()``, polled until ``timeout`` seconds have passed.

    The server writes its log line and metrics for an RPC after the status has reached the
    client, so a test that reads them waits for them.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = value()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
