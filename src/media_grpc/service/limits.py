"""Per-owner limits on CreateUploadSession: a token bucket and a cap on PENDING sessions."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.service.context import ServiceContext

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


class UploadAdmission:
    """Admits or refuses a new upload session of an owner; raises ResourceExhausted."""

    def __init__(
        self,
        ctx: ServiceContext,
        settings: LimitSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.buckets = TokenBuckets(
            settings.upload_sessions_per_second, settings.upload_session_burst, clock
        )

    def admit(self, owner_id: str) -> None:
        wait = self.buckets.take(owner_id)
        if wait > 0:
            raise ResourceExhausted(
                f"owner {owner_id} creates upload sessions faster than "
                f"{self.settings.upload_sessions_per_second:g} per second "
                f"(burst {self.settings.upload_session_burst}); retry in {wait:.1f} s",
                retry_after_seconds=wait,
            )
        self._check_pending(owner_id)

    def _check_pending(self, owner_id: str) -> None:
        cap = self.settings.max_pending_sessions
        if cap == 0:
            return
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            expiries = uow.media.open_session_expiries(owner_id, now, cap)
        if len(expiries) < cap:
            return
        wait = max(1.0, math.ceil(expiries[0].timestamp() - now.timestamp()))
        raise ResourceExhausted(
            f"owner {owner_id} has {cap} upload sessions pending, the most allowed; complete or "
            f"abort one, or retry in {wait:.0f} s when the oldest expires",
            retry_after_seconds=wait,
        )
