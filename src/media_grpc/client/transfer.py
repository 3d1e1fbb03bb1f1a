"""HTTP PUTs to presigned URLs: retried with backoff on network errors, optionally throttled.

A body goes to the socket in blocks (memoryview slices of the caller's buffer, no copies), one
``sendall`` each: progress and the throttle are told once per block, not per 16 KiB read as
http.client would read a file-like body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

#: Bytes per block when no rate limit is set: the granularity of progress.
BLOCK = 1024 * 1024
#: Bounds of a throttled block: about an eighth of a second of the budget, within these.
THROTTLED_BLOCK_MIN = 16 * 1024
THROTTLED_BLOCK_MAX = 256 * 1024

#: Errors worth another try of the same PUT.
RETRIED = (requests.ConnectionError, requests.Timeout)


class TransientHttpError(Exception):
    """A 5xx or 429 from storage: worth another try."""


class UrlExpired(Exception):
    """Storage refused the signature (403): the URL must be presigned again."""


class RateLimiter:
    """A shared budget of ``bytes_per_second`` for every upload thread (None: unlimited)."""

    def __init__(self, bytes_per_second: float | None) -> None:
        self.rate = bytes_per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    @property
    def block(self) -> int:
        """Bytes to send per ``take``: small enough that the budget stays smooth."""
        if not self.rate:
            return BLOCK
        return int(min(THROTTLED_BLOCK_MAX, max(THROTTLED_BLOCK_MIN, self.rate / 8)))

    def take(self, n: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / self.rate
        time.sleep(max(0.0, start - now))


class _Blocks:
    """One attempt's body: requests takes its length from ``__len__`` (Content-Length) and
    urllib3 sends each block as it is iterated."""

    def __init__(
        self, data: memoryview, limiter: RateLimiter, progress: Callable[[int], None]
    ) -> None:
        self.data = data
        self.limiter = limiter
        self.progress = progress

    def __len__(self) -> int:
        return self.data.nbytes

    def __iter__(self) -> Iterator[memoryview]:
        block = self.limiter.block
        for start in range(0, self.data.nbytes, block):
            chunk = self.data[start : start + block]
            self.limiter.take(chunk.nbytes)
            self.progress(chunk.nbytes)
            yield chunk


class Transfer:
    """PUTs with a shared HTTP session, retries and a rate limit."""

    def __init__(
        self,
        *,
        attempts: int = 5,
        limiter: RateLimiter | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.attempts = attempts
        #: Built once and shared by every PUT (and thread): each call keeps its own state.
        self._retrying = Retrying(
            retry=retry_if_exception_type((*RETRIED, TransientHttpError)),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.5, max=10) + wait_random(0, 0.5),
            reraise=True,
        )
        self.limiter = limiter or RateLimiter(None)
        self.timeout = timeout
        self.http = requests.Session()

    def put(
        self,
        url: str,
        data: bytes | bytearray | memoryview,
        headers: Mapping[str, str],
        progress: Callable[[int], None] = lambda _n: None,
    ) -> str:
        """PUT ``data``; returns the ETag. Network errors and 5xx are retried with backoff;
        progress of a failed attempt is taken back (reported negative) before the next, and
        before an error leaves (a 403 included)."""
        view = memoryview(data).cast("B")
        sent = 0

        def counted(n: int) -> None:
            nonlocal sent
            sent += n
            progress(n)

        def attempt() -> str:
            nonlocal sent
            if sent:
                progress(-sent)
                sent = 0
            return self._attempt(url, view, headers, counted)

        try:
            return self._retrying(attempt)
        except BaseException:
            if sent:  # not stored: a caller that sends again (a fresh URL) counts afresh
                progress(-sent)
            raise

    def _attempt(
        self,
        url: str,
        view: memoryview,
        headers: Mapping[str, str],
        progress: Callable[[int], None],
    ) -> str:
        body: Any = _Blocks(view, self.limiter, progress) if view.nbytes else b""
        answer = self.http.put(url, data=body, headers=dict(headers), timeout=self.timeout)
        if answer.status_code == 403:
            raise UrlExpired(answer.text[:300])
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TransientHttpError(f"HTTP {answer.status_code}: {answer.text[:300]}")
        answer.raise_for_status()
        return str(answer.headers.get("ETag", ""))
