"""PostgreSQL job locks when the database goes away: the worker must see DatabaseUnavailable
(run the job again in place) and never a driver error (a retry after the first retry delay)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from media_grpc.adapters.database import DatabaseUnavailable, build_engine
from media_grpc.adapters.job_locks import PostgresJobLocks
from tests.ports import free_port


@pytest.fixture
def engine(own_database_url: str) -> Iterator[Engine]:
    built = build_engine(own_database_url, pool_size=2)
    yield built
    built.dispose()


def terminate_lock_holders(database_url: str) -> int:
    """Terminate the backends holding an advisory lock in this database (a restart would)."""
    admin = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            )
        ).scalar_one()
    admin.dispose()
    return int(cut)


def test_a_lock_whose_connection_died_lets_the_jobs_own_unavailable_error_through(
    engine: Engine, own_database_url: str
) -> None:
    locks = PostgresJobLocks(engine)
    media_id = str(uuid.uuid4())
    with pytest.raises(DatabaseUnavailable), locks.hold(media_id) as held:
        assert held
        assert terminate_lock_holders(own_database_url) == 1
        raise DatabaseUnavailable()  # what the job's unit of work raises on the dead database

    with locks.hold(media_id) as held_again:
        assert held_again, "the lock died with its connection: the next job takes it"


def test_a_job_done_before_its_lock_connection_died_ends_without_an_error(
    engine: Engine, own_database_url: str
) -> None:
    locks = PostgresJobLocks(engine)
    with locks.hold(str(uuid.uuid4())) as held:
        assert held
        terminate_lock_holders(own_database_url)


def test_taking_a_lock_while_the_database_is_away_is_database_unavailable() -> None:
    gone = build_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(DatabaseUnavailable), PostgresJobLocks(gone).hold(str(uuid.uuid4())):
        pytest.fail("a lock was taken on a database that is not there")
    gone.dispose()
