"""WatchMedia through the service layer: one change feed fanned out to every watcher."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.errors import (
    MediaNotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from media_grpc.domain.model import Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.watching import ChangeFeed, MediaWatching
from tests.fakes import FakeDatabase, InMemoryBlobStorage, ScriptedChangeListener
from tests.unit.uploaded_media import png_bytes, uploaded

ALICE = Principal("alice")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(10):
            return await coro

    return asyncio.run(bounded())


def advance(db: FakeDatabase, media_id: str, status: Status, seconds: int = 1) -> None:
    media = db.media[media_id]
    media.status = status
    media.updated_at = media.updated_at + timedelta(seconds=seconds)


class Counted:
    """The service context with a count of the units of work (database transactions) opened."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.opened = 0
        self.ctx = dataclasses.replace(ctx, uow=self._uow)
        self._inner = ctx.uow

    def _uow(self) -> AbstractUnitOfWork:
        self.opened += 1
        return self._inner()


def feed_of(ctx: ServiceContext) -> tuple[MediaWatching, ScriptedChangeListener]:
    listener = ScriptedChangeListener()
    return MediaWatching(ctx, feed=ChangeFeed(ctx, listener)), listener


async def statuses(stream: AsyncIterator[Media]) -> list[Status]:
    return [m.status async for m in stream]


def test_watch_yields_now_and_at_each_status_change_heard_and_ends_at_ready(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    watching, listener = feed_of(fake_ctx)

    async def scenario() -> list[Status]:
        stream = watching.watch(ALICE, job.media_id)
        seen = [(await anext(stream)).status]
        for status in (Status.PROCESSING, Status.READY):
            advance(fake_db, job.media_id, status)
            listener.hear(job.media_id)
            seen.append((await anext(stream)).status)
        seen.extend(await statuses(stream))
        return seen

    assert run(scenario()) == [Status.UPLOADED, Status.PROCESSING, Status.READY]


def test_watch_of_a_finished_media_yields_it_once(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].status = Status.FAILED
    watching, _listener = feed_of(fake_ctx)
    assert run(statuses(watching.watch(ALICE, job.media_id))) == [Status.FAILED]


def test_watch_ends_after_its_longest_life_so_no_stream_is_held_forever(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    listener = ScriptedChangeListener()
    watching = MediaWatching(fake_ctx, max_seconds=0.05, feed=ChangeFeed(fake_ctx, listener))
    assert run(statuses(watching.watch(ALICE, job.media_id))) == [Status.UPLOADED]


def test_watch_of_another_users_media_is_denied(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    watching, _listener = feed_of(fake_ctx)

    async def scenario() -> None:  # one loop: the scripted listener belongs to the first
        with pytest.raises(PermissionDenied):
            await statuses(watching.watch(Principal("bob"), job.media_id))
        with pytest.raises(MediaNotFound):
            await statuses(watching.watch(ALICE, "nope"))

    run(scenario())


def test_a_change_is_read_once_however_many_watch_it(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    counted = Counted(fake_ctx)
    watching, listener = feed_of(counted.ctx)
    watching.max_per_principal = 100

    async def scenario(watchers: int) -> int:
        streams = [watching.watch(ALICE, job.media_id) for _ in range(watchers)]
        for stream in streams:
            await anext(stream)
        before = counted.opened
        advance(fake_db, job.media_id, Status.READY)
        listener.hear(job.media_id)
        finals = await asyncio.gather(*(anext(s) for s in streams))
        assert {m.status for m in finals} == {Status.READY}
        return counted.opened - before

    assert run(scenario(50)) == 1


def test_a_change_nobody_watches_costs_no_read(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    watched = uploaded(fake_db, memory_storage, png_bytes(), media_id="m-watched")
    other = uploaded(fake_db, memory_storage, png_bytes(), media_id="m-other")
    counted = Counted(fake_ctx)
    watching, listener = feed_of(counted.ctx)

    async def scenario() -> int:
        stream = watching.watch(ALICE, watched.media_id)
        await anext(stream)
        before = counted.opened
        listener.hear(other.media_id)
        advance(fake_db, watched.media_id, Status.READY)
        listener.hear(watched.media_id)
        await anext(stream)
        return counted.opened - before

    assert run(scenario()) == 1


def test_a_resync_after_a_lost_listener_delivers_what_changed_meanwhile(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    watching, listener = feed_of(fake_ctx)

    async def scenario() -> list[Status]:
        stream = watching.watch(ALICE, job.media_id)
        seen = [(await anext(stream)).status]
        advance(fake_db, job.media_id, Status.READY)  # committed while nobody listened
        listener.resync()
        seen.extend(await statuses(stream))
        return seen

    assert run(scenario()) == [Status.UPLOADED, Status.READY]


def test_a_principal_past_its_watch_cap_is_refused_with_a_retry_delay(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    listener = ScriptedChangeListener()
    watching = MediaWatching(
        fake_ctx, feed=ChangeFeed(fake_ctx, listener), max_per_principal=2, retry_after_seconds=7
    )

    async def scenario() -> float:
        first, second = watching.watch(ALICE, job.media_id), watching.watch(ALICE, job.media_id)
        await anext(first)
        await anext(second)
        assert await anext(watching.watch(Principal("bob", is_service=True), job.media_id))
        with pytest.raises(ResourceExhausted) as refused:
            await anext(watching.watch(ALICE, job.media_id))
        await first.aclose()
        assert (await anext(watching.watch(ALICE, job.media_id))).id == job.media_id
        return refused.value.retry_after_seconds

    assert run(scenario()) == 7


def test_watchers_opening_together_cost_one_read_between_them(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    ids = [
        uploaded(fake_db, memory_storage, png_bytes(), media_id=f"m-burst-{i}").media_id
        for i in range(200)
    ]
    counted = Counted(fake_ctx)
    watching, _listener = feed_of(counted.ctx)
    watching.max_per_principal = 1_000

    async def scenario() -> list[str]:
        streams = [watching.watch(ALICE, media_id) for media_id in ids * 2]
        firsts = await asyncio.gather(*(anext(stream) for stream in streams))
        return [media.id for media in firsts]

    assert run(scenario()) == ids * 2
    assert counted.opened == 1


class Refusing:
    """The service context whose database is away (its units of work raise Unavailable)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = dataclasses.replace(ctx, uow=self._uow)

    def _uow(self) -> AbstractUnitOfWork:
        raise Unavailable("the database is away")


def test_a_first_read_the_database_refuses_ends_the_watch_unavailable(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    watching, _listener = feed_of(Refusing(fake_ctx).ctx)
    with pytest.raises(Unavailable):
        run(statuses(watching.watch(ALICE, job.media_id)))
