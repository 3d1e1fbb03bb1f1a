"""Module-level functions for the time-limit tests (a spawned child imports them by name)."""

from __future__ import annotations

import os
import signal
import time

from media_grpc.domain.model import FailureReason
from workers.stage import MediaRejected


def sleep_then_return(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


def reject(message: str) -> None:
    raise MediaRejected(FailureReason.CORRUPT, message)


def fail(message: str) -> None:
    raise ValueError(message)


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def write_pid_then_hang(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.1)
