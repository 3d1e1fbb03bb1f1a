"""gRPC servers of a test's own around the run's Application, for tests of server options and
of servers that answer otherwise in one respect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.servicer import MediaServicer
from media_grpc.bootstrap import Application
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.posts import PostMedia

S = TypeVar("S", bound=MediaServicer)


def servicer_of(app: Application, kind: type[S], **parts: Any) -> S:
    """A ``kind`` (a MediaServicer that answers otherwise in one respect) over ``app``'s use
    cases; of the optional parts (watching, retries, imports, audit) only ``parts``."""
    return kind(
        app.uploads,
        app.queries,
        app.messages,
        posts=PostMedia(app.ctx),
        deletion=MediaDeletion(app.ctx),
        **parts,
    )


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
