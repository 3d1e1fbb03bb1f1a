"""Per-owner call rates in the database: the same arithmetic on PostgreSQL and SQLite as the
in-memory buckets, one autocommitted statement per call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from media_grpc.adapters.database import build_engine
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.owner_call_rates import (
    AbstractCallRates,
    InMemoryCallRates,
    SqlAlchemyCallRates,
    Take,
)
from media_grpc.domain.errors import Unavailable

CALL = "CompleteUpload"


@pytest.fixture(params=["postgresql", "sqlite", "memory"])
def rates(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AbstractCallRates]:
    if request.param == "memory":
        yield InMemoryCallRates()
        return
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
        upgrade_to_head(engine)
    else:
        engine = build_engine(request.getfixturevalue("database_url"))
    yield SqlAlchemyCallRates(engine)
    engine.dispose()


def take(rates: AbstractCallRates, owner: str, now: float, call: str = CALL) -> Take:
    return rates.take(owner, call, now, 2.0, 3)


def test_a_bucket_starts_full_refills_at_the_rate_and_never_beyond_the_burst(
    rates: AbstractCallRates, unique_user: str
) -> None:
    assert [take(rates, unique_user, 100.0) for _ in range(3)] == [
        Take(True, 2.0),
        Take(True, 1.0),
        Take(True, 0.0),
    ]
    assert take(rates, unique_user, 100.25) == Take(False, 0.5)  # kept, never below zero
    assert take(rates, unique_user, 100.5) == Take(True, 0.0)
    assert take(rates, unique_user, 10_000.0) == Take(True, 2.0)


def test_each_call_has_its_own_bucket_per_owner(rates: AbstractCallRates, unique_user: str) -> None:
    for _ in range(3):
        take(rates, unique_user, 100.0)
    assert not take(rates, unique_user, 100.0).admitted
    assert take(rates, unique_user, 100.0, "GetUploadPartUrls") == Take(True, 2.0)
    assert take(rates, unique_user + "-other", 100.0) == Take(True, 2.0)


def test_an_earlier_clock_refills_nothing(rates: AbstractCallRates, unique_user: str) -> None:
    assert take(rates, unique_user, 100.0) == Take(True, 2.0)
    assert take(rates, unique_user, 40.0) == Take(True, 1.0)  # nothing added, 100 stays
    assert take(rates, unique_user, 100.5) == Take(True, 1.0)  # one token added since 100


def test_a_database_that_is_down_is_unavailable(unique_user: str) -> None:
    engine = build_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(Unavailable):
            SqlAlchemyCallRates(engine).take(unique_user, CALL, 100.0, 2.0, 3)
    finally:
        engine.dispose()
