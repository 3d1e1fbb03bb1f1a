"""More than one server process sharing the listen port (MEDIA_GRPC_PROCESSES).

`media-grpc serve` runs the first server itself, with everything that must run once (the
cleanup schedule, the in-process worker, the metrics endpoint), and starts the others as
spawned child processes that serve RPCs. With a broker every process runs an outbox relay
(they claim rows with SKIP LOCKED, never sharing one), so the jobs a process commits are
published whichever process dies; without one the first process's relay and in-process worker
serve all of them. All bind the same port with
SO_REUSEPORT and the kernel spreads new connections over them: a connection, and every call
on it, stays with one process. Per-owner limits live in the database, so they hold across
the processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

from media_grpc.bootstrap import build_application
from media_grpc.commands.heap import settle_heap
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.logs import LogFormat, configure_logging

log = logging.getLogger("media_grpc.serve")


def check_processes(settings: Settings) -> None:
    """More than one process needs the database and the S3 endpoint outside this process."""
    if settings.grpc_processes > 1 and (settings.database_url is None or settings.embeds_s3):
        raise SettingsError(
            f"MEDIA_GRPC_PROCESSES={settings.grpc_processes} needs MEDIA_DATABASE_URL and "
            "MEDIA_S3_ENDPOINT_URL: the embedded database and S3 belong to one process"
        )


@dataclass(eq=False)
class ServerProcesses:
    """The child server processes; ``start`` them once the first server has bound the port."""

    #: The address the first server bound; the children bind it too.
    address: str
    #: Child processes to start.
    count: int
    #: Seconds in-flight RPCs get to finish on shutdown (``--grace``).
    grace: float
    #: Seconds health reports NOT_SERVING before new RPCs are refused (``--drain``).
    drain: float
    #: The children's log level and format.
    logging: tuple[str, str]
    processes: list[BaseProcess] = field(default_factory=list, init=False)

    def start(self) -> ServerProcesses:
        spawn = multiprocessing.get_context("spawn")  # never fork a process running gRPC
        for n in range(self.count):
            process = spawn.Process(
                target=serve_child,
                args=(self.address, self.grace, self.drain, self.logging),
                name=f"media-grpc-server-{n + 2}",
            )
            process.start()
            self.processes.append(process)
        return self

    def exited(self) -> list[BaseProcess]:
        return [p for p in self.processes if not p.is_alive()]

    def signal(self) -> None:
        """SIGTERM each: they stop as the first does (drain, then ``grace``)."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()

    def join(self) -> None:
        for process in self.processes:
            process.join(self.drain + self.grace + 10)
            if process.is_alive():
                log.warning("server process %s did not stop; killing it", process.pid)
                process.kill()
                process.join()


def serve_child(address: str, grace: float, drain: float, logging_: tuple[str, str]) -> None:
    """A child: the gRPC server, and with a broker an outbox relay, until SIGTERM or SIGINT."""
    level, fmt = logging_
    configure_logging(level, cast(LogFormat, fmt))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    app = build_application(Settings(), migrate=False)
    if app.settings.broker_url:
        from media_grpc.pipeline_bootstrap import build_pipeline

        pipeline = build_pipeline(app)
        pipeline.start()
        app.closers.append(pipeline.stop)
    server = app.serve(address, reuse_port=True)
    host = address.rsplit(":", 1)[0]
    pid = multiprocessing.current_process().pid
    log.info("server process %s serving on %s:%d", pid, host, server.port)
    print(f"media-grpc server process {pid} serving on {host}:{server.port}", flush=True)
    settle_heap()
    try:
        stop.wait()
    finally:
        server.stop(grace, drain=drain)
        app.close()
