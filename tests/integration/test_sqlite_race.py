"""The embedded default's SQLite database: racing attaches still leave exactly one winner.

Storage is the in-memory fake (tests/fakes.py): attaching never reaches the store."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.posts import PostMedia
from tests.fakes import InMemoryBlobStorage
from tests.media_records import make_media

SERVICE = Principal("post-service", is_service=True)


@pytest.fixture
def sqlite_ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
    upgrade_to_head(engine)
    factory = build_session_factory(engine)
    yield ServiceContext(uow=lambda: SqlAlchemyUnitOfWork(factory), storage=InMemoryBlobStorage())
    engine.dispose()


def test_twenty_attaches_of_one_media_on_sqlite_leave_one_winner(
    sqlite_ctx: ServiceContext,
) -> None:
    media = make_media("alice")
    with sqlite_ctx.uow() as uow:
        uow.media.add(media)
        uow.commit()
    posts = PostMedia(sqlite_ctx)

    def attach(n: int) -> str:
        try:
            posts.attach(SERVICE, f"post-{n}", "alice", [media.id])
        except FailedPrecondition as e:
            assert media.id in e.message
            return "refused"
        return "attached"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attach, range(20)))
    assert outcomes.count("attached") == 1
    assert outcomes.count("refused") == 19
