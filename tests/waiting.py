"""Waiting for a condition with a bounded deadline, never for a fixed time: the one poll loop
of the tests (every wait goes through ``eventually``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Seconds between two looks at the condition.
POLL_SECONDS = 0.01


def eventually(value: Callable[[], T], what: str | Callable[[], str], timeout: float = 10) -> T:
    """The first truthy ``value()``, polled until ``timeout`` seconds have passed.

    ``what`` names the condition in the failure (a callable is asked only then, so that it can
    describe the state at that moment). An assertion inside ``value`` fails at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = value()
        if found:
            return found
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {described}")
        time.sleep(POLL_SECONDS)
