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

A child stops as the first does (drain, then grace) on SIGTERM, SIGINT, or when the first
process dies, however it dies: it watches a pipe from its parent (``ProcessRuntime``).
"""

from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.connection import Connection
from typing import cast

from media_grpc.bootstrap import build_application
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.logs import LogFormat, configure_logging
from media_grpc.runtime.heap import settle_heap
from media_grpc.runtime.process_runtime import ProcessRuntime

log = logging.getLogger("media_grpc.serve")


def check_processes(settings: Settings) -> None:
    """More than one process needs the database and the S3 endpoint outside this process."""
    if settings.grpc_processes > 1 and (settings.database_url is None or settings.embeds_s3):
        raise SettingsError(
            f"MEDIA_GRPC_PROCESSES={settings.grpc_processes} needs MEDIA_DATABASE_URL and "
            "MEDIA_S3_ENDPOINT_URL: the embedded database and S3 belong to one process"
        )


def start_server_processes(
    runtime: ProcessRuntime,
    address: str,
    count: int,
    grace: float,
    drain: float,
    logging_: tuple[str, str],
) -> None:
    """``count`` child server processes on ``address`` (the port the first server bound)."""
    for n in range(count):
        runtime.start_process(
            f"media-grpc-server-{n + 2}",
            serve_child,
            address,
            grace,
            drain,
            logging_,
            stop_seconds=drain + grace,
        )


def serve_child(
    parent: Connection, address: str, grace: float, drain: float, logging_: tuple[str, str]
) -> None:
    """A child: the gRPC server, and with a broker an outbox relay, until SIGTERM, SIGINT or
    its parent's death."""
    level, fmt = logging_
    configure_logging(level, cast(LogFormat, fmt))
    runtime = ProcessRuntime("server process")
    runtime.handle_signals()
    runtime.watch_parent(parent)
    app = build_application(Settings(), migrate=False)
    runtime.on_stop("application", app.close)
    try:
        if app.settings.broker_url:
            # Every process relays the jobs it commits (the relays claim rows with SKIP LOCKED,
            # never sharing one), so they are published whichever process dies. Started before
            # the server, so that it stops after the server drained and publishes what the
            # drain committed.
            from media_grpc.pipeline_bootstrap import build_pipeline
            from media_grpc.runtime.serving import start_pipeline

            start_pipeline(runtime, build_pipeline(app))
        server = app.serve(address, reuse_port=True)
        runtime.on_stop("grpc server", lambda: server.stop(grace, drain=drain))
        host = address.rsplit(":", 1)[0]
        pid = multiprocessing.current_process().pid
        log.info("server process %s serving on %s:%d", pid, host, server.port)
        print(f"media-grpc server process {pid} serving on {host}:{server.port}", flush=True)
        settle_heap()
        runtime.wait()
    finally:
        runtime.stop()
