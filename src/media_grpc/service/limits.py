"""Per-owner limits on CreateUploadSession: a token bucket and a cap on PENDING sessions.

Both are kept in the database and checked in the transaction that inserts the session, so
they hold across every server process sharing the database. Taking the owner's token locks
the owner's bucket row until that transaction ends: an owner's CreateUploadSession calls are
serialised, so the PENDING count read after the lock is exact under concurrent calls.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.domain.model import Media


class UploadAdmission:
    """Admits or refuses a new upload session of an owner; raises ResourceExhausted.

    Parameters:
        settings: the rate, burst and PENDING cap.
        clock: wall-clock seconds since the epoch (``time.time``; every server sharing the
            database reads the same clock, give or take their skew); tests pass their own.
    """

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock

    def take(self, uow: AbstractUnitOfWork, owner_id: str) -> float:
        """Lock the owner until ``uow`` ends and take a token; the tokens left (below zero:
        none was left, and ``check`` refuses). Rolling back gives the token back."""
        return uow.limits.take_token(
            owner_id,
            self.clock(),
            self.settings.upload_sessions_per_second,
            self.settings.upload_session_burst,
        )

    def check_rate(self, owner_id: str, tokens_left: float) -> None:
        """Refuse when ``take`` found the owner's bucket empty."""
        rate = self.settings.upload_sessions_per_second
        if tokens_left < 0:
            wait = -tokens_left / rate
            raise ResourceExhausted(
                f"owner {owner_id} creates upload sessions faster than {rate:g} per second "
                f"(burst {self.settings.upload_session_burst}); retry in {wait:.1f} s",
                retry_after_seconds=wait,
            )

    def add(self, uow: AbstractUnitOfWork, media: Media, now: datetime) -> None:
        """Add the new session, or refuse it when its owner holds the most PENDING sessions
        (counted and inserted by one statement, under the owner's lock that ``take`` holds)."""
        cap = self.settings.max_pending_sessions
        if cap == 0:
            uow.media.add(media)
            return
        if uow.media.add_below_pending_cap(media, cap, now):
            return
        expiries = uow.media.open_session_expiries(media.owner_id, now, cap)
        soonest = expiries[0].timestamp() if expiries else now.timestamp()
        wait = max(1.0, math.ceil(soonest - now.timestamp()))
        raise ResourceExhausted(
            f"owner {media.owner_id} has {cap} upload sessions pending, the most allowed; "
            f"complete or abort one, or retry in {wait:.0f} s when the oldest expires",
            retry_after_seconds=wait,
        )
