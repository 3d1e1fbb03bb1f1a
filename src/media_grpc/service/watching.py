"""WatchMedia: the media now, then again at each status change, until a final status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext


class MediaWatching:
    """Polls the database, so it sees changes made by any process (workers, other servers).

    Parameters:
        poll_interval: seconds between two reads of a watched media.
        max_seconds: longest life of one watch; the stream then ends and the client re-watches.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        poll_interval: float = 0.2,
        max_seconds: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.poll_interval = poll_interval
        self.max_seconds = max_seconds
        self.sleep = sleep
        self.clock = clock

    def watch(
        self, principal: Principal, media_id: str, is_active: Callable[[], bool]
    ) -> Iterator[Media]:
        """Yield the media at once and after each change of (status, updated_at); end after
        READY, FAILED or DELETED, when ``is_active()`` turns False (the client went away), or
        after ``max_seconds``."""
        deadline = self.clock() + self.max_seconds
        media = self.ctx.load_visible(principal, media_id)
        yield media
        last = (media.status, media.updated_at)
        while not media.status.is_final and is_active() and self.clock() < deadline:
            self.sleep(self.poll_interval)
            media = self.ctx.load_visible(principal, media_id)
            if (media.status, media.updated_at) != last:
                last = (media.status, media.updated_at)
                yield media
