"""Per-owner call rates (GetUploadPartUrls, CompleteUpload, RetryProcessing): the port, its
SQLAlchemy implementation (PostgreSQL, SQLite: shared by every server process) and an
in-memory one (one process; unit tests)."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import Engine, Executable, Float, bindparam, case, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.adapters.idle_buckets import (
    IdleBuckets,
    count_idle_in,
    count_statement,
    forget_idle_in,
    forget_statement,
)
from media_grpc.adapters.orm import OwnerCallRateRow

_TABLE: Any = OwnerCallRateRow.__table__


class Take(NamedTuple):
    #: Whether a token was taken (the call is admitted).
    admitted: bool
    #: Tokens left in the bucket afterwards (never below zero).
    tokens: float


class AbstractCallRates(IdleBuckets):
    @abc.abstractmethod
    def take(self, owner_id: str, call: str, now: float, rate: float, burst: int) -> Take:
        """Refill the owner's bucket for ``call`` and take a token if one is there.

        A new bucket starts with ``burst`` tokens; ``rate`` tokens are added per second of
        ``now`` (epoch seconds) since the last refill, up to ``burst``. A ``now`` behind the
        stored one (another server's clock) refills nothing. Without a whole token the bucket
        keeps what it has and the call is refused.
        """


def refill(tokens: float, at: float, now: float, rate: float, burst: int) -> Take:
    """The arithmetic of ``take`` on one bucket, for the in-memory implementation."""
    tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
    if tokens >= 1.0:
        return Take(True, tokens - 1.0)
    return Take(False, tokens)


class InMemoryCallRates(AbstractCallRates):
    """Buckets in this process's memory: (owner, call) -> (tokens, refilled_at). Holds only
    within one process; for unit tests and services built without a database."""

    def __init__(self, buckets: dict[tuple[str, str], tuple[float, float]] | None = None) -> None:
        self.buckets = buckets if buckets is not None else {}
        self._lock = threading.Lock()

    def take(self, owner_id: str, call: str, now: float, rate: float, burst: int) -> Take:
        with self._lock:
            tokens, at = self.buckets.get((owner_id, call), (float(burst), now))
            taken = refill(tokens, at, now, rate, burst)
            self.buckets[(owner_id, call)] = (taken.tokens, max(now, at))
            return taken

    def forget_idle(self, refilled_before: float, limit: int) -> int:
        with self._lock:
            return forget_idle_in(self.buckets, refilled_before, limit)

    def count_idle(self, refilled_before: float, limit: int) -> int:
        with self._lock:
            return count_idle_in(self.buckets, refilled_before, limit)


def _take_statement(insert: Any) -> Any:
    """One upsert, built once per dialect: refill, take a token when a whole one is there,
    return (admitted, tokens). Every SET expression reads the old row; the new row's values
    (``excluded``) carry ``now`` and the burst, so each parameter is sent once."""
    zero: Any = literal_column("0.0")
    one: Any = literal_column("1.0")
    stmt = insert(_TABLE).values(
        owner_id=bindparam("owner_id"),
        call=bindparam("call"),
        tokens=bindparam("burst", type_=Float) - one,
        refilled_at=bindparam("now", type_=Float),
        admitted=literal_column("TRUE"),
    )
    rate, old = bindparam("rate", type_=Float), _TABLE.c
    at, burst = stmt.excluded.refilled_at, stmt.excluded.tokens + one
    later = at > old.refilled_at
    grown = old.tokens + case((later, at - old.refilled_at), else_=zero) * rate
    refilled = case((grown > burst, burst), else_=grown)
    whole = refilled >= one
    return stmt.on_conflict_do_update(
        index_elements=[old.owner_id, old.call],
        set_={
            "tokens": case((whole, refilled - one), else_=refilled),
            "refilled_at": case((later, at), else_=old.refilled_at),
            "admitted": whole,
        },
    ).returning(old.admitted, old.tokens)


_TAKE = {"postgresql": _take_statement(pg_insert), "sqlite": _take_statement(sqlite_insert)}


class SqlAlchemyCallRates(AbstractCallRates):
    """One statement. On an engine: in autocommit (no BEGIN, no COMMIT), it locks the owner's
    row for that statement alone and commits whether the call is admitted or not. On a session
    (a unit of work's): in its transaction, which holds the row until it ends; a rollback gives
    the token back. (On SQLite a unit of work that locked something holds the database's write
    lock: a statement on another connection would wait for it.)

    On an engine the statement, compiled once, goes straight to the driver's cursor of a pooled
    connection: SQLAlchemy's Connection and Result cost as much CPU again as the rest of the call
    (CompleteUpload's hot path). A database that is down (or goes away during the statement) is
    ``DatabaseUnavailable``."""

    def __init__(self, bind: Engine | Session) -> None:
        self.bind = bind
        if isinstance(bind, Engine):
            compiled = _TAKE[bind.dialect.name].compile(dialect=bind.dialect)
            self.sql = str(compiled)
            #: Parameter names in order for a positional driver (SQLite's ``?``), else None.
            self.order = compiled.positiontup if bind.dialect.positional else None

    def take(self, owner_id: str, call: str, now: float, rate: float, burst: int) -> Take:
        params = {
            "owner_id": owner_id,
            "call": call,
            "now": now,
            "rate": rate,
            "burst": float(burst),
        }
        try:
            if isinstance(self.bind, Session):
                statement = _TAKE[self.bind.get_bind().dialect.name]
                admitted, tokens = self.bind.execute(statement, params).one()
            else:
                admitted, tokens = self._autocommitted(self.bind, params)
        except DBAPIError as error:
            if isinstance(error, OperationalError) or error.connection_invalidated:
                raise DatabaseUnavailable() from error
            raise
        return Take(bool(admitted), float(tokens))

    def forget_idle(self, refilled_before: float, limit: int) -> int:
        statement = forget_statement(_TABLE, refilled_before, limit)
        return self._run(statement, lambda result: int(result.rowcount))

    def count_idle(self, refilled_before: float, limit: int) -> int:
        statement = count_statement(_TABLE, refilled_before, limit)
        return self._run(statement, lambda result: int(result.scalar_one()))

    def _run(self, statement: Executable, read: Callable[[Any], int]) -> int:
        """``read`` of ``statement``'s result: in the session's transaction, or on an engine
        in a transaction of its own."""
        if isinstance(self.bind, Session):
            return read(self.bind.execute(statement))
        with self.bind.begin() as connection:
            return read(connection.execute(statement))

    def _autocommitted(self, engine: Engine, params: dict[str, Any]) -> tuple[Any, Any]:
        dialect = engine.dialect
        lost = (dialect.loaded_dbapi.OperationalError, DBAPIError)
        try:
            connection = engine.raw_connection()  # checked out (and pinged) as by a session
        except lost as error:
            raise DatabaseUnavailable() from error
        dbapi_connection: Any = connection.dbapi_connection
        try:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
            try:
                cursor = connection.cursor()
                args = [params[name] for name in self.order] if self.order else params
                cursor.execute(self.sql, args)
                row: Any = cursor.fetchone()
                cursor.close()
            finally:
                dialect.reset_isolation_level(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if isinstance(error, lost) or dialect.is_disconnect(error, dbapi_connection, None):
                connection.invalidate(error)
                raise DatabaseUnavailable() from error
            raise
        finally:
            connection.close()
        return row[0], row[1]
