"""The cleanup forgets idle per-owner rate-limit buckets on PostgreSQL and SQLite: rows older
than the retention go, newer ones stay, and the owner's next call finds a full bucket as it
would have with the row. On PostgreSQL a sweep skips a bucket an admission holds, and an
admission waiting on a sweep's deletion inserts a full bucket once the sweep commits.

Each PostgreSQL test has a database of its own (``own_database_url``): the sweep deletes every
idle row, and the counts below are exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.orm import OwnerCallRateRow, OwnerLimitRow
from media_grpc.adapters.owner_call_rates import SqlAlchemyCallRates, Take
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.config.limits import LimitSettings
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.context import ServiceContext
from media_grpc.service.limits import UploadAdmission
from media_grpc.service.owner_rates import OwnerRates, RatedCall
from tests.fakes import InMemoryBlobStorage
from tests.waiting import eventually

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()
RETENTION = LifecycleSettings().rate_bucket_retention_seconds
RATE, BURST = 2.0, 3
CALL = RatedCall.COMPLETE.value


def _engine(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if dialect == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
        upgrade_to_head(engine)
        return engine
    return build_engine(request.getfixturevalue("own_database_url"))


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    built = _engine(request.param, request, tmp_path)
    yield built
    built.dispose()


@pytest.fixture
def postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    built = _engine("postgresql", request, tmp_path)
    yield built
    built.dispose()


def uow(engine: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(build_session_factory(engine))


def take_token(engine: Engine, owner: str, at: float) -> float:
    """CreateUploadSession's take (``owner_limit``), committed."""
    with uow(engine) as work:
        left = work.limits.take_token(owner, at, RATE, BURST)
        work.commit()
    return left


def take_call(engine: Engine, owner: str, at: float) -> Take:
    """CompleteUpload's take (``owner_call_rate``), autocommitted."""
    return SqlAlchemyCallRates(engine).take(owner, CALL, at, RATE, BURST)


def buckets(engine: Engine) -> tuple[dict[str, tuple[float, float]], set[str]]:
    """``owner_limit`` as owner -> (tokens, refilled_at), and the owners in ``owner_call_rate``."""
    with engine.connect() as connection:
        limits = connection.execute(
            select(OwnerLimitRow.owner_id, OwnerLimitRow.tokens, OwnerLimitRow.refilled_at)
        )
        calls = connection.scalars(select(OwnerCallRateRow.owner_id))
        return {o: (tokens, at) for o, tokens, at in limits}, set(calls)


def sweeper(engine: Engine, **settings: object) -> CleanupService:
    factory = build_session_factory(engine)
    ctx = ServiceContext(
        uow=lambda: SqlAlchemyUnitOfWork(factory), storage=InMemoryBlobStorage(), now=lambda: NOW
    )
    return CleanupService(ctx, LifecycleSettings.model_validate(settings))


def test_buckets_older_than_the_retention_go_in_batches_and_newer_ones_stay(
    engine: Engine,
) -> None:
    ages = {"idle-1": RETENTION + 1, "idle-2": RETENTION + 60, "idle-3": 10 * RETENTION}
    ages |= {"recent-1": RETENTION - 1, "recent-2": 0}
    for owner, age in ages.items():
        take_token(engine, owner, T - age)
        take_call(engine, owner, T - age)

    dry = sweeper(engine).run(dry_run=True)
    assert dry.rate_buckets_forgotten == 6
    assert buckets(engine)[1] == set(ages)

    report = sweeper(engine, batch_size=2).run()

    assert report.rate_buckets_forgotten == 6
    limits, calls = buckets(engine)
    assert set(limits) == calls == {"recent-1", "recent-2"}
    assert sweeper(engine).run().rate_buckets_forgotten == 0


def test_an_owner_whose_buckets_were_forgotten_is_admitted_from_a_full_bucket(
    engine: Engine,
) -> None:
    emptied_at = T - RETENTION - 1
    assert [take_token(engine, "alice", emptied_at) for _ in range(BURST + 1)][-1] == -1.0
    assert [take_call(engine, "alice", emptied_at) for _ in range(BURST + 1)][-1].admitted is False

    assert sweeper(engine).run().rate_buckets_forgotten == 2
    assert buckets(engine) == ({}, set())

    limits = LimitSettings(
        upload_sessions_per_second=RATE,
        upload_session_burst=BURST,
        completions_per_second=RATE,
        completion_burst=BURST,
    )
    admission = UploadAdmission(limits, clock=lambda: T)
    with uow(engine) as work:
        left = admission.take(work, "alice")
        admission.check_rate("alice", left)  # admitted: no ResourceExhausted
        work.commit()
    OwnerRates(limits, SqlAlchemyCallRates(engine), clock=lambda: T).admit(
        RatedCall.COMPLETE, "alice"
    )

    assert left == BURST - 1.0  # as the kept row would have given: refilled to the burst
    assert buckets(engine) == ({"alice": (BURST - 1.0, T)}, {"alice"})
    assert take_call(engine, "alice", T) == Take(True, BURST - 2.0)


def test_a_sweep_skips_a_bucket_an_admission_holds_without_waiting(
    postgresql: Engine,
) -> None:
    take_token(postgresql, "held", T - 2 * RETENTION)
    take_token(postgresql, "free", T - 2 * RETENTION)
    outcome: list[int] = []
    with uow(postgresql) as admission:  # leaving it (failed or not) frees the row
        assert admission.limits.take_token("held", T, RATE, BURST) == BURST - 1.0  # row locked
        sweep = threading.Thread(target=lambda: outcome.append(forget(postgresql)))
        sweep.start()
        sweep.join(30)
        assert not sweep.is_alive(), "the sweep waited on the admission's row lock"
        admission.commit()

    assert outcome == [1]  # "free" went; "held" was skipped
    assert buckets(postgresql)[0] == {"held": (BURST - 1.0, T)}


def forget(engine: Engine) -> int:
    with uow(engine) as work:
        gone = work.limits.forget_idle(T - RETENTION, 100)
        work.commit()
    return gone


def waiting_on_a_lock(engine: Engine) -> Callable[[], bool]:
    def waiting() -> bool:
        with engine.connect() as connection:
            found = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(found)

    return waiting


@pytest.mark.parametrize("table", ["owner_limit", "owner_call_rate"])
def test_a_take_waiting_on_a_sweeps_delete_inserts_a_full_bucket_once_it_commits(
    engine: Engine, table: str
) -> None:
    """PostgreSQL: the take's ON CONFLICT waits for the sweep's row lock, finds the row gone
    and inserts afresh. SQLite: one writer, the take runs after the sweep's transaction."""
    if table == "owner_limit":
        assert [take_token(engine, "bob", T - 2 * RETENTION) for _ in range(BURST)][-1] == 0.0
    else:
        assert take_call(engine, "bob", T - 2 * RETENTION) == Take(True, BURST - 1.0)
    results: list[float | Take] = []
    take = take_token if table == "owner_limit" else take_call
    taking = threading.Thread(target=lambda: results.append(take(engine, "bob", T)))
    with uow(engine) as sweep:  # leaving it (failed or not) frees the row
        ports = {"owner_limit": sweep.limits, "owner_call_rate": sweep.call_rates}
        assert ports[table].forget_idle(T - RETENTION, 100) == 1  # deleted, not yet committed
        taking.start()
        if engine.dialect.name == "postgresql":
            eventually(waiting_on_a_lock(engine), "the take to wait for the sweep's row lock")
        sweep.commit()
    taking.join(30)

    expected: float | Take = BURST - 1.0 if table == "owner_limit" else Take(True, BURST - 1.0)
    assert results == [expected]
