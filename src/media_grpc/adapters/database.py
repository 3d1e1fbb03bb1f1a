"""Engine and session factory for PostgreSQL (production) or SQLite (embedded default)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.domain.errors import Unavailable


class DatabaseUnavailable(Unavailable):
    """The database went away (restarting, connection dropped) during a statement or commit.

    Whether the transaction had committed is told apart by the caller: see
    ``unit_of_work.counting_commits``."""

    def __init__(self) -> None:
        super().__init__("the database is unavailable; retry the call")


def build_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine that survives a database restart (pre-ping) and, on SQLite, concurrency."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def scratch_database(
    server_url: str, prefix: str = "media_scratch", *, template: str | None = None
) -> Iterator[str]:
    """A new PostgreSQL database on ``server_url``, migrated to head, dropped afterwards.

    Yields its URL. For tests and benchmarks that need a database of their own. With
    ``template`` (the name of a migrated database nobody is connected to) it is a copy of that
    one, which is much faster than migrating.
    """
    from media_grpc.adapters.migrations import upgrade_to_head

    admin_url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    if template is None:
        engine = build_engine(url)
        upgrade_to_head(engine)
        engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
