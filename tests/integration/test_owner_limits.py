"""Per-owner token buckets in the database: the same arithmetic on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        built = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
        upgrade_to_head(built)
    else:
        built = build_engine(request.getfixturevalue("database_url"))
    yield built
    built.dispose()


def take(engine: Engine, owner: str, now: float, *, commit: bool = True) -> float:
    with SqlAlchemyUnitOfWork(build_session_factory(engine)) as uow:
        left = uow.limits.take_token(owner, now, 2.0, 3)
        if commit:
            uow.commit()
    return left


def test_a_bucket_starts_full_refills_at_the_rate_and_never_beyond_the_burst(
    engine: Engine, unique_user: str
) -> None:
    assert [take(engine, unique_user, 100.0) for _ in range(3)] == [2.0, 1.0, 0.0]
    assert take(engine, unique_user, 100.0, commit=False) == -1.0
    assert take(engine, unique_user, 100.5) == 0.0
    assert take(engine, unique_user, 10_000.0) == 2.0


def test_a_rolled_back_take_leaves_the_bucket_as_it_was(engine: Engine, unique_user: str) -> None:
    assert take(engine, unique_user, 100.0) == 2.0
    assert take(engine, unique_user, 100.0, commit=False) == 1.0
    assert take(engine, unique_user, 100.0) == 1.0


def test_an_earlier_clock_refills_nothing(engine: Engine, unique_user: str) -> None:
    assert take(engine, unique_user, 100.0) == 2.0
    assert take(engine, unique_user, 40.0) == 1.0  # nothing added, and 100 stays the last
    assert take(engine, unique_user, 100.5) == 1.0  # one token added since 100
