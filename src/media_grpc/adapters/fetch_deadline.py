"""The total deadline of one fetch, kept while a call blocks in connect, TLS, headers or body.

urllib3's timeouts bound each socket operation, so a host that sends one byte of its headers
every few seconds keeps a fetch going forever. ``Deadline`` holds every socket the fetch opens
and, from a timer thread, shuts them down when the total time is up: the blocked call returns at
once with an error, which the fetcher reports as TIMEOUT because ``expired`` is set.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection


class Deadline:
    """``seconds`` from now; use it as a context manager (the timer stops on exit)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def left(self) -> float:
        """Seconds left, at least a millisecond (urllib3 refuses a zero timeout)."""
        return max(0.001, self.at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down at the deadline (at once when it has passed).

        A duplicate of ``sock`` is kept (and closed on exit): TLS moves the connection into a new
        socket object and closes ``sock``, so shutting ``sock`` itself would miss a handshake
        that stalls, while the duplicate reaches the connection whichever object holds it.
        """
        watched = sock.dup()
        with self._lock:
            self._sockets.append(watched)
            if not self.expired:
                return
        _shut(watched)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class WatchedHTTPConnection(HTTPConnection):
    """A connection whose socket the ``deadline`` watches from the moment it is opened."""

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.deadline.watch(sock)  # before any TLS handshake, which the deadline covers too
        return sock


class WatchedHTTPSConnection(WatchedHTTPConnection, HTTPSConnection):
    """The same over TLS: ``HTTPSConnection`` handshakes on the socket watched above."""


class WatchedHTTPPool(HTTPConnectionPool):
    """A pool whose connections are shut at the ``deadline=`` given to it."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection
