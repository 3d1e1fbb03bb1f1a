"""Module-level functions for the stage pool tests (a child imports them by name)."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
import time
import warnings

from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected


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
    threading.Event().wait()  # until the pool kills this process


def pid() -> int:
    return os.getpid()


def hang() -> None:
    threading.Event().wait()  # until the pool kills this process


def warn_and_read_the_log(message: str) -> list[str]:
    """Issue a UserWarning (as Pillow does on broken EXIF) and return the log lines it made."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    saved = handler.setStream(stream)
    try:
        warnings.warn(message, UserWarning, stacklevel=1)
    finally:
        handler.setStream(saved)
    return stream.getvalue().splitlines()
