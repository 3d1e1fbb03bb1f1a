"""An HTTP proxy in front of the S3 endpoint that misbehaves on request: it answers
``503 SlowDown`` for a while, holds HEAD requests before forwarding them, or goes away (its port
closed, so connections are refused) and comes back on the same port."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class FaultyS3Proxy:
    """Forwards to ``upstream``; ``slow_down(n)`` makes the next ``n`` requests get 503."""

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.lock = threading.Lock()
        self.failures_left = 0
        self.slow_downs_sent = 0
        self.forwarded = 0
        self.head_delay = 0.0
        self.heads_waiting = 0
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        #: Client connections open now (closed by ``stop``, as a store going down closes them).
        self._connections: set[socket.socket] = set()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultyS3Proxy:
        """Listen (on the same port as before, after ``stop``)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Close the port: from now on connections are refused, as from a store that is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # the client closed it first
                    connection.shutdown(socket.SHUT_RDWR)

    def slow_down(self, requests: int) -> None:
        with self.lock:
            self.failures_left = requests

    def _take_failure(self) -> bool:
        with self.lock:
            if self.failures_left <= 0:
                return False
            self.failures_left -= 1
            self.slow_downs_sent += 1
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def setup(self) -> None:
                super().setup()
                with proxy.lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy.lock:
                    proxy._connections.discard(self.connection)
                super().finish()

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy._take_failure():
                    self._answer(503, {"Content-Type": "application/xml"}, SLOW_DOWN)
                    return
                if self.command == "HEAD" and proxy.head_delay:
                    with proxy.lock:
                        proxy.heads_waiting += 1
                    time.sleep(proxy.head_delay)
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                with proxy.lock:
                    proxy.forwarded += 1
                relayed = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
                self._answer(answer.status, relayed, data)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                head = self.command == "HEAD"
                for key, value in headers.items():
                    if head or key.lower() != "content-length":
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(body)))
                elif "content-length" not in {k.lower() for k in headers}:
                    self.send_header("Content-Length", "0")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            # http.server dispatches to do_<METHOD>.
            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay  # noqa: N815

        return Handler
