"""The child side of the stage pool: run jobs from a pipe until told to stop.

Each message is ``(fn, args, kwargs, log_fields)``; the answer is ``(kind, payload, rss)``:
``("ok", result)``, ``("rejected", (reason, message))`` for ``MediaRejected``, or
``("error", (message, traceback))`` for anything else, with the child's resident memory after
the job so the parent can recycle a child that grew.
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from media_grpc.domain.stage import MediaRejected
from media_grpc.observability.logs import LogFormat, bound, configure_logging


def _rss_bytes() -> int:
    """Resident memory of this process now, in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _outcome(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwargs)
    except MediaRejected as e:
        return "rejected", (str(e.reason), e.message)
    except BaseException as e:  # noqa: BLE001 - everything is reported to the parent
        return "error", (f"{type(e).__name__}: {e}", traceback.format_exc())


def serve(conn: Connection, log_setup: tuple[str, LogFormat] | None) -> None:
    """The child: run jobs from ``conn`` until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if log_setup is not None:
        configure_logging(*log_setup)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args, kwargs, fields = message
        with bound(**fields):
            kind, payload = _outcome(fn, args, kwargs)
        try:
            conn.send((kind, payload, _rss_bytes()))
        except Exception as e:  # noqa: BLE001 - a result that does not pickle
            conn.send(("error", (f"the stage result cannot be sent: {e}", ""), _rss_bytes()))
