"""Run a stage in a child process with a wall-clock limit.

A decode stuck in C cannot be interrupted from Python (a signal handler runs only when control
returns to the interpreter), so the work runs in a child process (``spawn`` context: no
inherited locks or broker connections) and the parent kills it when time is up. Outcomes:

- the function's return value, sent back through a pipe (it must pickle);
- ``MediaRejected`` raised in the child is raised again here with its reason;
- ``TimeLimitExceeded`` when the limit passes (the child is killed; map to FAILED TIMEOUT);
- ``StageCrashed`` when the child raised anything else or died (a segfault in a decoder).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Literal, TypeVar

from media_grpc.domain.model import FailureReason
from workers.stage import MediaRejected

R = TypeVar("R")


class TimeLimitExceeded(Exception):
    """The job ran longer than its wall-clock limit and was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the job ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


class StageCrashed(Exception):
    """The child raised an unexpected error or died; ``detail`` holds its traceback or exit code."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except MediaRejected as e:
        conn.send(("rejected", (str(e.reason), e.message)))
    except BaseException as e:  # noqa: BLE001 - everything is reported to the parent
        conn.send(("error", (f"{type(e).__name__}: {e}", traceback.format_exc())))
    finally:
        conn.close()


def run_with_time_limit(
    fn: Callable[..., R],
    *args: Any,
    seconds: float,
    start_method: Literal["spawn", "forkserver"] = "spawn",
) -> R:
    """``fn(*args)`` in a child process, killed after ``seconds`` of wall-clock time.

    ``fn`` must be a module-level function and ``args`` and its result must pickle.
    """
    ctx: Any = multiprocessing.get_context(start_method)
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, fn, args), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            process.kill()
            raise TimeLimitExceeded(seconds)
        try:
            kind, payload = receiver.recv()
        except EOFError:
            process.join()
            raise StageCrashed(f"the stage process died (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
    if kind == "rejected":
        reason, message = payload
        raise MediaRejected(FailureReason(reason), message)
    if kind == "error":
        message, detail = payload
        raise StageCrashed(message, detail)
    result: R = payload
    return result
