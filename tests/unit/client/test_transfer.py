"""PUTs to presigned URLs against a small local HTTP server that fails on purpose."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from media_grpc.client.transfer import BLOCK, RateLimiter, Transfer, UrlExpired


class FlakyStore:
    """Answers the first ``failures`` PUTs with ``status``, then stores the body."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures = failures
        self.status = status
        self.bodies: list[bytes] = []
        #: Content-Length and Transfer-Encoding of each PUT received.
        self.framing: list[tuple[str | None, str | None]] = []
        self.attempts = 0


@pytest.fixture
def store() -> FlakyStore:
    return FlakyStore(failures=0)


@pytest.fixture
def url(store: FlakyStore) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            store.framing.append(
                (self.headers["Content-Length"], self.headers["Transfer-Encoding"])
            )
            body = self.rfile.read(int(self.headers["Content-Length"]))
            store.attempts += 1
            if store.attempts <= store.failures:
                self.send_response(store.status)
                self.end_headers()
                return
            store.bodies.append(body)
            self.send_response(200)
            self.send_header("ETag", f'"etag-{len(store.bodies)}"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bucket/key?X-Amz-Signature=x"
    server.shutdown()
    server.server_close()


def test_put_returns_the_etag_and_reports_every_byte(store: FlakyStore, url: str) -> None:
    seen: list[int] = []
    etag = Transfer().put(url, b"x" * 600_000, {"Content-Type": "image/png"}, seen.append)
    assert etag == '"etag-1"'
    assert store.bodies == [b"x" * 600_000]
    assert sum(seen) == 600_000


def test_a_body_goes_with_its_content_length_in_blocks_from_a_buffer_view(
    store: FlakyStore, url: str
) -> None:
    data = bytearray(b"0123456789" * (BLOCK // 4))
    seen: list[int] = []
    Transfer().put(url, memoryview(data)[5:], {}, seen.append)
    assert store.bodies == [bytes(data[5:])]
    assert store.framing == [(str(len(data) - 5), None)]
    assert seen == [BLOCK, BLOCK, len(data) - 5 - 2 * BLOCK]


def test_an_empty_body_is_sent_with_a_content_length_of_zero(store: FlakyStore, url: str) -> None:
    seen: list[int] = []
    Transfer().put(url, b"", {}, seen.append)
    assert (store.bodies, store.framing, sum(seen)) == ([b""], [("0", None)], 0)


def test_a_throttled_body_goes_in_small_blocks_each_reported(store: FlakyStore, url: str) -> None:
    seen: list[int] = []
    Transfer(limiter=RateLimiter(8_000_000)).put(url, b"x" * 600_000, {}, seen.append)
    assert store.bodies == [b"x" * 600_000]
    assert sum(seen) == 600_000 and max(seen) <= 256 * 1024 and len(seen) == 3


def test_server_errors_are_retried_and_progress_of_failed_attempts_taken_back(
    store: FlakyStore, url: str
) -> None:
    store.failures = 2
    seen: list[int] = []
    etag = Transfer(attempts=3).put(url, b"abc", {}, seen.append)
    assert (etag, store.attempts) == ('"etag-1"', 3)
    assert sum(seen) == 3


def test_an_expired_signature_is_not_retried_but_reported(store: FlakyStore, url: str) -> None:
    store.failures, store.status = 1, 403
    seen: list[int] = []
    with pytest.raises(UrlExpired):
        Transfer(attempts=5).put(url, b"abc", {}, seen.append)
    assert store.attempts == 1
    assert seen and sum(seen) == 0, f"the refused bytes are taken back: {seen}"


class HangingUp:
    """A TCP listener that accepts each connection and closes it at once, counting them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/bucket/key"

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_network_errors_are_retried_until_attempts_run_out(attempts: int) -> None:
    import requests

    peer = HangingUp()
    try:
        with pytest.raises(requests.ConnectionError):
            Transfer(attempts=attempts).put(peer.url, b"abc", {})
    finally:
        peer.close()
    assert peer.connections == attempts


def test_rate_limit_spreads_bytes_over_time() -> None:
    limiter = RateLimiter(1_000_000)
    started = time.monotonic()
    for _ in range(5):
        limiter.take(100_000)
    assert time.monotonic() - started >= 0.35
