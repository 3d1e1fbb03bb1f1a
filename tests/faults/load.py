"""Callers that keep calling while a fault happens, recording when each call ran and how it
ended, so a test can say which calls failed and whether they were in flight at the fault."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from tests.waiting import eventually


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    code: grpc.StatusCode

    @property
    def ok(self) -> bool:
        return self.code is grpc.StatusCode.OK

    def spans(self, moment: float) -> bool:
        return self.started <= moment <= self.ended


class Callers:
    """``count`` threads, each running ``call(thread_index)`` in a loop until ``stop()``."""

    def __init__(self, count: int, call: Callable[[int], object]) -> None:
        self.call = call
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(count)
        ]

    def __enter__(self) -> Callers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self.outcomes

    def _loop(self, index: int) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.call(index)
                code = grpc.StatusCode.OK
            except grpc.RpcError as e:
                code = e.code()
                time.sleep(0.05)
            with self._lock:
                self.outcomes.append(Outcome(started, time.monotonic(), code))

    def codes(self) -> str:
        """How the calls so far ended, e.g. ``(120 OK, 3 UNAVAILABLE)``."""
        with self._lock:
            counts: dict[str, int] = {}
            for o in self.outcomes:
                counts[o.code.name] = counts.get(o.code.name, 0) + 1
        return "(" + ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) + ")"

    def succeeded(self) -> int:
        with self._lock:
            return sum(o.ok for o in self.outcomes)


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    detail: Callable[[], str] = lambda: "",
) -> None:
    eventually(condition, lambda: f"{what} {detail()}", timeout)
