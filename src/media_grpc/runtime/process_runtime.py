"""The threads and child processes of one media-grpc process: started, stopped and drained here.

``serve`` (and each of its child server processes), ``worker``, ``relay`` and the embedded
default build a ``ProcessRuntime``, start their background loops and child processes through it,
and wait on it. Stopping is one path whatever asked for it (SIGTERM, SIGINT, the parent's death,
a child that exited): the child processes are asked to stop first (SIGTERM, so they drain in
parallel), then the stop callbacks run newest first, then the children are reaped.

Parent death: a child started with ``start_process`` gets the read end of a pipe whose only
write end the parent holds. The kernel closes that end when the parent dies, however it dies
(SIGKILL included); the child's ``watch_parent`` thread reads EOF at once and stops the child
like a SIGTERM would.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

log = logging.getLogger("media_grpc.runtime")

#: Seconds a stopping child process gets beyond its own drain and grace before it is killed.
KILL_AFTER_SECONDS = 10.0


@dataclass(frozen=True)
class _Stop:
    name: str
    stop: Callable[[], None]


@dataclass
class _Child:
    process: BaseProcess
    #: The write end of the child's parent pipe; held open, never written.
    parent_end: Connection
    #: Seconds to wait for the child after SIGTERM before killing it.
    stop_seconds: float


class ProcessRuntime:
    """Every long-lived thread and child process of this process, and how they stop.

    Parameters:
        name: what the log lines call this process (``serve``, ``worker``, ...).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        #: Set once a stop was asked for; ``wait`` returns then.
        self.stopping = threading.Event()
        self._stops: list[_Stop] = []
        self._on_request: list[Callable[[], None]] = []
        self._children: list[_Child] = []
        self._stopped = False

    # -- asking to stop ------------------------------------------------------------------------

    def handle_signals(self) -> None:
        """SIGTERM and SIGINT ask this process to stop (main thread only)."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(f"received signal {signum}")

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def when_stop_requested(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once, from whatever thread asks) when a stop is asked for: for
        a loop that runs on the main thread and has its own way to be told."""
        self._on_request.append(callback)

    def request_stop(self, reason: str) -> None:
        if self.stopping.is_set():
            return
        log.info("%s: %s, shutting down", self.name, reason)
        self.stopping.set()
        for callback in self._on_request:
            callback()

    def watch_parent(self, parent: Connection) -> threading.Thread:
        """Stop this process when its parent dies: ``parent`` is the pipe end that
        ``start_process`` handed over; EOF on it means the parent is gone."""

        def watch() -> None:
            with contextlib.suppress(EOFError, OSError):
                parent.recv()  # the parent never writes: this returns on its death
            self.request_stop("parent process died")

        return self.start_thread("parent-watch", watch)

    # -- starting ------------------------------------------------------------------------------

    def start_thread(self, name: str, target: Callable[..., Any], *args: Any) -> threading.Thread:
        """A daemon thread running ``target(*args)``; nothing stops it but ``target`` itself."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def start_loop(
        self,
        name: str,
        run: Callable[[], None],
        *,
        stop: Callable[[], None],
        then: Callable[[], None] | None = None,
        join_seconds: float = 30.0,
    ) -> threading.Thread:
        """A daemon thread running ``run`` until ``stop()`` (a request that returns at once);
        at shutdown ``stop`` is called, the thread joined for up to ``join_seconds``, and
        ``then`` called (release what the loop used)."""
        thread = self.start_thread(name, run)

        def stop_and_join() -> None:
            stop()
            thread.join(join_seconds)
            if thread.is_alive():
                log.warning(
                    "%s: thread %s did not stop within %.0f s", self.name, name, join_seconds
                )
            if then is not None:
                then()

        self.on_stop(name, stop_and_join)
        return thread

    def start_process(
        self, name: str, target: Callable[..., None], *args: Any, stop_seconds: float
    ) -> BaseProcess:
        """A spawned child process running ``target(parent, *args)``, where ``parent`` is the
        pipe end to pass to the child's own ``ProcessRuntime.watch_parent``. At shutdown the
        child gets SIGTERM first and ``stop_seconds`` (its drain and grace) plus
        ``KILL_AFTER_SECONDS`` to exit before it is killed."""
        spawn = multiprocessing.get_context("spawn")  # never fork a process running gRPC
        child_end, parent_end = spawn.Pipe(duplex=False)
        process = spawn.Process(target=target, args=(child_end, *args), name=name)
        process.start()
        child_end.close()  # the child holds its own copy; EOF needs ours closed
        self._children.append(_Child(process, parent_end, stop_seconds))
        return process

    def on_stop(self, name: str, stop: Callable[[], None]) -> None:
        """Call ``stop`` at shutdown; the newest registered runs first."""
        self._stops.append(_Stop(name, stop))

    # -- running and stopping ------------------------------------------------------------------

    @property
    def processes(self) -> list[BaseProcess]:
        return [child.process for child in self._children]

    def exited_processes(self) -> list[BaseProcess]:
        return [child.process for child in self._children if not child.process.is_alive()]

    def wait(self, poll_seconds: float = 1.0) -> bool:
        """Until a stop is asked for (False), or until a child process exits on its own (True:
        this process stops too, so that its supervisor restarts the whole)."""
        while not self.stopping.wait(poll_seconds if self._children else None):
            exited = self.exited_processes()
            if exited:
                for process in exited:
                    log.error(
                        "%s: process %s exited (code %s)", self.name, process.pid, process.exitcode
                    )
                self.request_stop("a child process exited")
                return True
        return False

    def stop(self) -> None:
        """Stop everything, once: SIGTERM to the children, the stop callbacks newest first
        (each one's failure logged, the others still run), then the children reaped."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        for child in self._children:
            if child.process.is_alive():
                child.process.terminate()
        for entry in reversed(self._stops):
            try:
                entry.stop()
            except Exception:
                log.exception("%s: stopping %s failed", self.name, entry.name)
        for child in self._children:
            child.process.join(child.stop_seconds + KILL_AFTER_SECONDS)
            if child.process.is_alive():
                log.warning("%s: process %s did not stop; killing it", self.name, child.process.pid)
                child.process.kill()
                child.process.join()
            child.parent_end.close()
