"""Waiting for a condition with a bounded deadline, never for a fixed time: the one poll loop
of the tests (every wait goes through ``until``, most through ``eventually``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Seconds between two looks at the condition.
POLL_SECONDS = 0.01


def until(condition: Callable[[], object], timeout: float, every: float = POLL_SECONDS) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds, looked at every ``every``
    seconds: for a caller that reports what is left at the deadline instead of failing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def eventually(value: Callable[[], T], what: str | Callable[[], str], timeout: float = 10) -> T:
    """The first truthy ``value()``, polled until ``timeout`` seconds have passed.

    ``what`` names the condition in the failure (a callable is asked only then, so that it can
    describe the state at that moment). An assertion inside ``value`` fails at once.
    """
    last: list[T] = []

    def looked() -> T:
        last[:] = [value()]
        return last[0]

    if until(looked, timeout):
        return last[0]
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {described}")
