"""Pre-started child processes that run stages under a wall-clock limit.

A decode stuck in C cannot be interrupted from Python, so every stage runs in a child process
that the parent kills when its time is up (see ``time_limit.py``). Starting a Python child that
imports PyAV and Pillow costs seconds, more than a small job, so the children are kept warm:

- they are forked from a ``forkserver`` that has already imported the stage modules
  (``PRELOAD``), so a new child costs a fork, not an interpreter start and its imports;
- each runs jobs one at a time, as many children as the pool's ``size`` (the worker's threads);
- a child is killed and replaced when a job exceeds its time limit, and replaced when it died,
  after ``max_jobs`` jobs, or when its resident memory after a job exceeds ``max_rss_bytes``
  (decoders and allocators keep what a big job made them grow to).

A replacement is started as soon as a child goes, so the next job finds it ready. Outcomes are
those listed in ``time_limit.py``: the return value, ``MediaRejected`` with its reason,
``TimeLimitExceeded``, or ``StageCrashed``. Children log in the parent's format (warnings
included) with the job's bound fields, and exit when the parent goes away.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected
from media_grpc.observability.logs import current_fields, logging_setup
from workers.stage_child import serve
from workers.time_limit import StageCrashed, TimeLimitExceeded

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Modules the forkserver imports once, so that every child starts with them loaded.
PRELOAD = (
    "workers.stages.generate_image_variants",
    "workers.stages.process_video",
)

#: Seconds a retiring child gets to exit on its own before it is killed.
_RETIRE_GRACE = 5.0


class _Child:
    def __init__(self, ctx: Any) -> None:
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=serve, args=(child_end, logging_setup()), daemon=True, name="stage-child"
        )
        self.process.start()
        child_end.close()
        self.jobs = 0

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def retire(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(_RETIRE_GRACE)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


class StagePool:
    """Parameters:
    size: children kept warm, the most jobs run at once (the worker's job threads).
    max_jobs: jobs a child runs before it is replaced.
    max_rss_bytes: resident memory after a job above which the child is replaced.
    preload: modules the forkserver imports before it forks any child.
    """

    def __init__(
        self,
        size: int,
        *,
        max_jobs: int = 100,
        max_rss_bytes: int = 1 << 30,
        preload: Sequence[str] = PRELOAD,
    ) -> None:
        self.size = size
        self.max_jobs = max_jobs
        self.max_rss_bytes = max_rss_bytes
        self._ctx: Any = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(preload))
        self._idle: list[_Child] = []
        self._busy = 0
        #: Children being started by ``start``, not yet idle.
        self._starting = 0
        self._closed = False
        self._lock = threading.Condition()

    def start(self, *, wait: bool = False) -> None:
        """Start the forkserver and every child, on a thread unless ``wait`` (the first start
        imports the stage modules: seconds). A job arriving meanwhile waits for a child."""
        with self._lock:
            missing = self.size - self._busy - len(self._idle) - self._starting
            self._starting += max(0, missing)
        if missing <= 0:
            return
        if wait:
            self._start_children(missing)
        else:
            threading.Thread(
                target=self._start_children, args=(missing,), name="stage-pool-start", daemon=True
            ).start()

    def _start_children(self, count: int) -> None:
        for _ in range(count):
            try:
                child = _Child(self._ctx)
            except BaseException:
                log.exception("cannot start a stage child; jobs will start their own")
                with self._lock:
                    self._starting -= 1
                    self._lock.notify()
                continue
            with self._lock:
                self._starting -= 1
                closed = self._closed
                if not closed:
                    self._idle.append(child)
                self._lock.notify()
            if closed:
                child.retire()

    @property
    def idle_pids(self) -> list[int]:
        """Process ids of the children waiting for a job."""
        with self._lock:
            return [child.pid for child in self._idle]

    def run(self, fn: Callable[..., R], *args: Any, seconds: float, **kwargs: Any) -> R:
        """``fn(*args, **kwargs)`` in a warm child, killed after ``seconds`` of wall-clock time.

        ``fn`` must be importable by name (a module-level function, or a ``partial`` of one);
        its arguments and result must pickle.
        """
        child = self._checkout()
        try:
            kind, payload, rss = self._exchange(
                child, (fn, args, kwargs, current_fields()), seconds
            )
        except BaseException:
            self._replace(child, kill=True)  # timed out, died, or interrupted: state unknown
            raise
        child.jobs += 1
        if child.jobs >= self.max_jobs or rss > self.max_rss_bytes:
            log.info(
                "stage child %d retires after %d jobs at %d MiB", child.pid, child.jobs, rss >> 20
            )
            self._replace(child, kill=False)
        else:
            self._checkin(child)
        if kind == "rejected":
            reason, message = payload
            raise MediaRejected(FailureReason(reason), message)
        if kind == "error":
            message, detail = payload
            raise StageCrashed(message, detail)
        result: R = payload
        return result

    @staticmethod
    def _exchange(child: _Child, message: tuple[Any, ...], seconds: float) -> tuple[str, Any, int]:
        """Send one job to ``child`` and wait at most ``seconds`` for its outcome.

        An outcome that arrives after ``seconds`` (the child finished while this thread was
        not scheduled, on a loaded machine) is over the limit too: the limit is wall-clock
        time from sending the job, whatever the load.
        """
        try:
            sent = time.monotonic()
            child.conn.send(message)
            if child.conn.poll(seconds):
                outcome: tuple[str, Any, int] = child.conn.recv()
                if time.monotonic() - sent <= seconds:
                    return outcome
        except (EOFError, OSError):
            child.process.join(_RETIRE_GRACE)
            code = child.process.exitcode
            raise StageCrashed(f"the stage process died (exit code {code})") from None
        log.warning("stage child %d ran past %g s; killing it", child.pid, seconds)
        raise TimeLimitExceeded(seconds)

    def close(self) -> None:
        """Stop every idle child; busy ones are stopped as their jobs end."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for child in idle:
            child.retire()

    def _checkout(self) -> _Child:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("the stage pool is closed")
                if self._idle:
                    self._busy += 1
                    return self._idle.pop()
                if self._busy + len(self._idle) + self._starting < self.size:
                    self._busy += 1
                    break
                self._lock.wait()
        try:
            return _Child(self._ctx)
        except BaseException:
            with self._lock:
                self._busy -= 1
                self._lock.notify()
            raise

    def _checkin(self, child: _Child) -> None:
        with self._lock:
            self._busy -= 1
            if not self._closed:
                self._idle.append(child)
                self._lock.notify()
                return
        child.retire()

    def _replace(self, child: _Child, *, kill: bool) -> None:
        """Stop ``child`` and start its successor, so the next job finds a warm child."""
        if kill:
            child.kill()
        else:
            child.retire()
        with self._lock:
            closed = self._closed
        successor = None if closed else _Child(self._ctx)
        with self._lock:
            self._busy -= 1
            if successor is not None:
                if self._closed:
                    closed = True
                else:
                    self._idle.append(successor)
            self._lock.notify()
        if closed and successor is not None:
            successor.retire()
