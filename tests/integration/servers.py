"""gRPC servers of a test's own around the run's Application, for tests of server options and
of servers that answer otherwise in one respect (``app.servicer(kind, **replaced)``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.servicer import MediaServicer
from media_grpc.bootstrap import Application


@contextmanager
def serving(
    app: Application,
    address: str = "127.0.0.1:0",
    servicer: MediaServicer | None = None,
    **options: Any,
) -> Iterator[RunningServer]:
    """A server of ``servicer`` (``app``'s own by default) on ``address`` with
    ``create_server``'s ``options``; stopped without grace on exit."""
    running = create_server(servicer or app.servicer(), app.verifier, address, **options)
    try:
        yield running
    finally:
        running.stop(0)
