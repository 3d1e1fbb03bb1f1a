"""WatchMedia: the media now, then again at each status change, until a final status.

One ``ChangeFeed`` per process hears every status change once (a PostgreSQL LISTEN connection,
or one poll on SQLite) and fans each changed media out to every watcher of that media through
in-process queues. Its one reader reads in batches: every media heard changed and every new
watcher's first read waiting when a read starts go into that one read. The database sees the
same load for 10 watchers as for 10,000, and 2,000 watchers opening at once cost a handful of
queries, not 2,000. Everything here runs on the server's event loop; reads go to the feed's
own thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from media_grpc.adapters.change_listener import ChangeListener, PollingChangeListener
from media_grpc.domain.errors import ResourceExhausted, Unavailable
from media_grpc.domain.ids import check_media_id
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext, check_visible

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Media read per query of a batch.
READ_CHUNK = 500


class ChangeFeed:
    """The process's one view of status changes, fanned out to in-process watchers.

    Parameters:
        ctx: the service context (its unit of work reads the media).
        listener: where changes are heard; its loop starts with the first watcher.
        retry_seconds: wait before a failed read of changed media is tried again.
    """

    def __init__(
        self, ctx: ServiceContext, listener: ChangeListener, retry_seconds: float = 0.5
    ) -> None:
        self.ctx = ctx
        self.listener = listener
        self.retry_seconds = retry_seconds
        #: A thread of its own for its reads (one at a time: each is a batch of all that waits);
        #: the feed outlives any one server's pool.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="change-feed")
        self._watchers: dict[str, set[asyncio.Queue[Media]]] = {}
        self._last: dict[str, tuple[object, object]] = {}
        #: Watched media heard changed and not read since; ``_resync``: all of them.
        self._changed: set[str] = set()
        self._resync = False
        #: First reads of new watchers waiting for the next batch.
        self._first: dict[str, list[asyncio.Future[Media | None]]] = {}
        self._wanted: asyncio.Event | None = None
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

    async def current(self, media_id: str) -> Media | None:
        """``media_id`` as it is now (``None`` if it does not exist), read in the next batch
        along with every other read waiting. Raises ``Unavailable`` if the database is."""
        self._ensure_running()
        waiter: asyncio.Future[Media | None] = asyncio.get_running_loop().create_future()
        self._first.setdefault(media_id, []).append(waiter)
        self._want()
        return await waiter

    async def read(self, fn: Callable[[], T]) -> T:
        """Run a blocking read in the feed's own thread."""
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
            self._changed.clear()
            self._first.clear()
            self._loop, self._task, self._wanted = loop, None, asyncio.Event()
        if self._task is None or self._task.done():
            # A context of its own: the feed outlives the watch that started it (and its logs).
            self._task = loop.create_task(
                self._run(), name="change-feed", context=contextvars.Context()
            )

    def _want(self) -> None:
        assert self._wanted is not None
        self._wanted.set()

    async def _run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._hear())
                group.create_task(self._read_batches())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the change feed stopped; it starts again with the next watcher")
        finally:
            self._fail_waiting(Unavailable("the change feed stopped; watch again"))

    async def _hear(self) -> None:
        async for changed in self.listener.changes():
            if changed:
                self._changed |= changed & self._watchers.keys()
            else:
                self._resync = True
            self._want()

    async def _read_batches(self) -> None:
        """Read, one batch at a time, what changed and what new watchers wait for; publish it."""
        assert self._wanted is not None
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            changed = set(self._watchers) if self._resync else self._changed & self._watchers.keys()
            self._changed, self._resync = set(), False
            first, self._first = self._first, {}
            try:
                await self._read_batch(changed, first)
            finally:  # a stopped feed (or a failed read) leaves no watcher waiting
                _settle(first, exception=Unavailable("the change feed stopped; watch again"))

    async def _read_batch(
        self, changed: set[str], first: dict[str, list[asyncio.Future[Media | None]]]
    ) -> None:
        ids = sorted(changed | first.keys())
        if not ids:
            return
        try:
            found = await self.read(partial(self._load, ids))
        except Unavailable as e:  # the database is away: changes are read again, nothing skipped
            log.warning("change feed cannot read %d media (retrying): %s", len(ids), e)
            _settle(first, exception=e)
            self._changed |= changed
            await asyncio.sleep(self.retry_seconds)
            self._want()
            return
        for media in found:
            self._publish(media)
        by_id = {media.id: media for media in found}
        for media_id, waiters in first.items():
            _settle({media_id: waiters}, result=by_id.get(media_id))

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

    def _fail_waiting(self, error: Exception) -> None:
        first, self._first = self._first, {}
        _settle(first, exception=error)


def _settle(
    waiters: dict[str, list[asyncio.Future[Media | None]]],
    *,
    result: Media | None = None,
    exception: Exception | None = None,
) -> None:
    """Answer every waiter still waiting (a cancelled watch no longer does)."""
    for futures in waiters.values():
        for future in futures:
            if future.done():
                continue
            if exception is not None:
                future.set_exception(exception)
            else:
                future.set_result(result)


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
        check_media_id(media_id)
        self._admit(principal)
        try:
            queue = self.feed.subscribe(media_id)  # before the read: no change falls between
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.max_seconds
                media = check_visible(principal, await self.feed.current(media_id), media_id)
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
