"""Token buckets in this process's memory, one per key (an owner): for the per-owner rates of
GetUploadPartUrls, CompleteUpload and RetryProcessing (``owner_rates.py``). CreateUploadSession's
bucket lives in the database instead (``adapters/owner_limits.py``), shared by every process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Buckets kept before full (idle) ones are forgotten.
MAX_TRACKED_KEYS = 10_000


class TokenBuckets:
    """One bucket per key, in this process: ``burst`` tokens, refilled at ``rate`` per second.

    Parameters:
        rate: tokens added per second.
        burst: the most tokens a bucket holds; a new key starts full.
        clock: monotonic seconds (``time.monotonic``); tests pass their own.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._forget_idle(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) <= MAX_TRACKED_KEYS:
            return
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
