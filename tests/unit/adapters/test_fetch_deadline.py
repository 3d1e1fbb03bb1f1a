"""The total deadline of a fetch cuts a TLS handshake the legacy host never answers, whatever
the per-operation timeouts say (a listening socket here that accepts and stays silent)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import certifi
import pytest
import urllib3
from urllib3.exceptions import SSLError

from media_grpc.adapters.fetch_deadline import Deadline, WatchedHTTPSPool

#: Far longer than the deadline: a call ending near the deadline was cut by it.
SOCKET_TIMEOUT = 20.0
DEADLINE = 0.5


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never sends a byte (no ServerHello)."""
    held: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as server:

        def accept() -> None:
            while True:
                try:
                    held.append(server.accept()[0])
                except OSError:
                    return  # the server socket closed

        threading.Thread(target=accept, daemon=True).start()
        yield int(server.getsockname()[1])
    for connection in held:
        connection.close()


def test_a_stalled_tls_handshake_ends_at_the_deadline_not_the_socket_timeout(
    silent_port: int,
) -> None:
    started = time.monotonic()
    with Deadline(DEADLINE) as deadline:
        pool = WatchedHTTPSPool(
            "127.0.0.1",
            silent_port,
            timeout=urllib3.Timeout(connect=SOCKET_TIMEOUT, read=SOCKET_TIMEOUT),
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            deadline=deadline,
        )
        with pytest.raises(SSLError):
            pool.urlopen("GET", "/a.jpg", retries=False)
        pool.close()
    took = time.monotonic() - started
    assert deadline.expired
    assert took < SOCKET_TIMEOUT / 2, f"the handshake ended after {took:.1f} s"
