"""WatchMedia: the media now, then again at each status change, until a final status.

One ``ChangeFeed`` per process hears every status change once (a PostgreSQL LISTEN connection,
or one poll on SQLite), reads each changed media once and fans it out to every watcher of that
media through in-process queues. The database sees the same load for 10 watchers as for
10,000. Everything here runs on the server's event loop; database reads go to an executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from media_grpc.adapters.change_listener import ChangeListener, PollingChangeListener
from media_grpc.domain.errors import ResourceExhausted, Unavailable
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Media read per query when re-reading every watched media.
READ_CHUNK = 500


class ChangeFeed:
    """The process's one view of status changes, fanned out to in-process watchers.

    Parameters:
        ctx: the service context (its unit of work reads the changed media).
        listener: where changes are heard; its loop starts with the first watcher.
        retry_seconds: wait before a failed read of changed media is tried again.
    """

    def __init__(
        self, ctx: ServiceContext, listener: ChangeListener, retry_seconds: float = 0.5
    ) -> None:
        self.ctx = ctx
        self.listener = listener
        self.retry_seconds = retry_seconds
        #: Threads of its own for its reads: the feed outlives any one server's pool.
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="change-feed")
        self._watchers: dict[str, set[asyncio.Queue[Media]]] = {}
        self._last: dict[str, tuple[object, object]] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def watched(self) -> int:
        """Media watched right now (not watchers: one media may have many)."""
        return len(self._watchers)

    def subscribe(self, media_id: str) -> asyncio.Queue[Media]:
        """A queue that receives ``media_id`` at each change heard from now on."""
        self._ensure_running()
        queue: asyncio.Queue[Media] = asyncio.Queue()
        self._watchers.setdefault(media_id, set()).add(queue)
        return queue

    def unsubscribe(self, media_id: str, queue: asyncio.Queue[Media]) -> None:
        queues = self._watchers.get(media_id)
        if queues is None:
            return
        queues.discard(queue)
        if not queues:
            del self._watchers[media_id]
            self._last.pop(media_id, None)

    async def read(self, fn: Callable[[], T]) -> T:
        """Run a blocking read in the feed's own two threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def close(self) -> None:
        """Stop listening (from any thread); a later watcher starts the feed again."""
        task, loop = self._task, self._loop
        if task is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new server loop: what the old one watched is gone
            self._watchers.clear()
            self._last.clear()
            self._loop, self._task = loop, None
        if self._task is None or self._task.done():
            # A context of its own: the feed outlives the watch that started it (and its logs).
            self._task = loop.create_task(
                self._run(), name="change-feed", context=contextvars.Context()
            )

    async def _run(self) -> None:
        try:
            async for changed in self.listener.changes():
                await self._refresh(changed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the change feed stopped; it starts again with the next watcher")

    async def _refresh(self, changed: frozenset[str]) -> None:
        """Read the changed (or, on RESYNC, every watched) media once and publish them."""
        while True:
            ids = sorted(changed & self._watchers.keys() if changed else self._watchers)
            if not ids:
                return
            try:
                found = await self.read(partial(self._load, ids))
            except Unavailable as e:  # the database is away: try again, nothing is skipped
                log.warning("change feed cannot read %d media (retrying): %s", len(ids), e)
                await asyncio.sleep(self.retry_seconds)
                continue
            for media in found:
                self._publish(media)
            return

    def _load(self, ids: Sequence[str]) -> list[Media]:
        found: list[Media] = []
        with self.ctx.uow() as uow:
            for start in range(0, len(ids), READ_CHUNK):
                found.extend(uow.media.get_many(ids[start : start + READ_CHUNK]))
        return found

    def _publish(self, media: Media) -> None:
        key = (media.status, media.updated_at)
        if self._last.get(media.id) == key:
            return
        self._last[media.id] = key
        for queue in self._watchers.get(media.id, ()):
            queue.put_nowait(media)


class MediaWatching:
    """Watches on the change feed, bounded per principal.

    Parameters:
        poll_interval: seconds between two polls when no feed is given (SQLite).
        max_seconds: longest life of one watch; the stream then ends and the client re-watches.
        feed: the process's change feed (shared by every watch).
        max_per_principal: watches one principal may hold open at once.
        retry_after_seconds: the wait a refused watcher is told (RetryInfo).
    """

    def __init__(
        self,
        ctx: ServiceContext,
        poll_interval: float = 0.2,
        max_seconds: float = 300.0,
        *,
        feed: ChangeFeed | None = None,
        max_per_principal: int = 32,
        retry_after_seconds: float = 5.0,
    ) -> None:
        self.ctx = ctx
        self.max_seconds = max_seconds
        self.feed = feed or ChangeFeed(ctx, PollingChangeListener(poll_interval))
        self.max_per_principal = max_per_principal
        self.retry_after_seconds = retry_after_seconds
        self._open: dict[str, int] = {}
        self.executor: Executor | None = None

    def use_executor(self, executor: Executor) -> None:
        """Where a new watch's first read runs: the server's bounded thread pool."""
        self.executor = executor

    def _admit(self, principal: Principal) -> None:
        count = self._open.get(principal.subject, 0)
        if count >= self.max_per_principal:
            raise ResourceExhausted(
                f"{principal.subject!r} already watches {count} media, the most allowed at once;"
                " close a watch or retry later",
                retry_after_seconds=self.retry_after_seconds,
            )
        self._open[principal.subject] = count + 1

    def _release(self, principal: Principal) -> None:
        count = self._open.get(principal.subject, 1) - 1
        if count > 0:
            self._open[principal.subject] = count
        else:
            self._open.pop(principal.subject, None)

    async def watch(self, principal: Principal, media_id: str) -> AsyncIterator[Media]:
        """Yield the media at once and after each change of (status, updated_at); end after
        READY, FAILED or DELETED, or after ``max_seconds`` (cancellation ends it too)."""
        self._admit(principal)
        try:
            queue = self.feed.subscribe(media_id)  # before the read: no change falls between
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.max_seconds
                media = await loop.run_in_executor(
                    self.executor, partial(self.ctx.load_visible, principal, media_id)
                )
                yield media
                while not media.status.is_final:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        return
                    try:
                        async with asyncio.timeout(remaining):
                            newer = await queue.get()
                    except TimeoutError:
                        return
                    if _is_later(newer, media):
                        media = newer
                        yield media
            finally:
                self.feed.unsubscribe(media_id, queue)
        finally:
            self._release(principal)


def _is_later(candidate: Media, current: Media) -> bool:
    if (candidate.status, candidate.updated_at) == (current.status, current.updated_at):
        return False
    return candidate.updated_at >= current.updated_at
