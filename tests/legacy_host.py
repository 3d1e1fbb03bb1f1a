"""A legacy media host on 127.0.0.1 for the import tests: files, redirects, slow and lying bodies.

Each route is a function writing the response; ``hits`` counts GETs per path, so a test can tell
whether a second import fetched anything.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


def body(data: bytes, content_type: str, *, length: bool = True) -> Route:
    """200 with ``data``; without ``length`` the body ends when the connection closes."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        if length:
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return route


def endless(head: bytes, *, chunk: int = 256 * 1024, limit: int = 64 * 1024 * 1024) -> Route:
    """``head`` then zeros, no Content-Length, until ``limit`` or the client hangs up."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.end_headers()
        sent = 0
        try:
            handler.wfile.write(head)
            while sent < limit:
                handler.wfile.write(b"\0" * chunk)
                sent += chunk
        except OSError:
            return

    return route


def _drip(
    handler: BaseHTTPRequestHandler, head: bytes, byte: bytes, every: float, for_at_most: float
) -> None:
    """Write ``head``, then ``byte`` every ``every`` seconds for ``for_at_most`` seconds (or
    until the client goes away)."""
    end = time.monotonic() + for_at_most
    try:
        handler.wfile.write(head)
        handler.wfile.flush()
        while time.monotonic() < end:
            time.sleep(every)  # the slow server itself, not a test waiting
            handler.wfile.write(byte)
            handler.wfile.flush()
    except OSError:
        return


def dripping(head: bytes, *, every: float = 0.2, for_at_most: float = 60.0) -> Route:
    """A body that claims 10 MB and sends one byte every ``every`` seconds."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10_000_000))
        handler.end_headers()
        _drip(handler, head, b"\0", every, for_at_most)

    return route


def dripping_headers(*, every: float = 0.2, for_at_most: float = 60.0) -> Route:
    """A status line, then one byte of a header every ``every`` seconds: no read waits long,
    the headers never end."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        _drip(handler, b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a", every, for_at_most)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


class LegacyHost:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.hits[self.path] += 1
                route = host.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def legacy_host() -> Iterator[LegacyHost]:
    host = LegacyHost()
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.server.shutdown()
        host.server.server_close()
