"""HTTP PUTs to presigned URLs: retried with backoff on network errors, optionally throttled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

#: Bytes handed to the socket per read: the granularity of progress and throttling.
CHUNK = 256 * 1024


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

    def take(self, n: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / self.rate
        time.sleep(max(0.0, start - now))


class _Body:
    """A bytes body that reports progress and obeys the limiter as requests reads it."""

    def __init__(self, data: bytes, limiter: RateLimiter, progress: Callable[[int], None]):
        self.data = data
        self.offset = 0
        self.limiter = limiter
        self.progress = progress

    def __len__(self) -> int:
        return len(self.data)

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else min(size, CHUNK)
        chunk = self.data[self.offset : self.offset + size]
        self.limiter.take(len(chunk))
        self.offset += len(chunk)
        if chunk:
            self.progress(len(chunk))
        return chunk


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
        self.limiter = limiter or RateLimiter(None)
        self.timeout = timeout
        self.http = requests.Session()

    def put(
        self,
        url: str,
        data: bytes,
        headers: Mapping[str, str],
        progress: Callable[[int], None] = lambda _n: None,
    ) -> str:
        """PUT ``data``; returns the ETag. Network errors and 5xx are retried with backoff;
        progress of a failed attempt is taken back (reported negative) before the next."""
        sent = [0]

        def counted(n: int) -> None:
            sent[0] += n
            progress(n)

        @retry(
            retry=retry_if_exception_type(
                (requests.ConnectionError, requests.Timeout, TransientHttpError)
            ),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=10) + wait_random(0, 0.5),
            reraise=True,
        )
        def attempt() -> str:
            if sent[0]:
                progress(-sent[0])
                sent[0] = 0
            body: Any = _Body(data, self.limiter, counted)
            answer = self.http.put(url, data=body, headers=dict(headers), timeout=self.timeout)
            if answer.status_code == 403:
                raise UrlExpired(answer.text[:300])
            if answer.status_code >= 500 or answer.status_code == 429:
                raise TransientHttpError(f"HTTP {answer.status_code}: {answer.text[:300]}")
            answer.raise_for_status()
            return str(answer.headers.get("ETag", ""))

        return attempt()
