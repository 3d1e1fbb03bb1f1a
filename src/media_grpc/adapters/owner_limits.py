"""The per-owner token bucket port and its SQLAlchemy implementation (PostgreSQL, SQLite)."""

from __future__ import annotations

import abc
from typing import Any

from sqlalchemy import Float, bindparam, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from media_grpc.adapters.idle_buckets import IdleBuckets, count_statement, forget_statement
from media_grpc.adapters.orm import OwnerLimitRow

_TABLE: Any = OwnerLimitRow.__table__


class AbstractOwnerLimits(IdleBuckets):
    @abc.abstractmethod
    def take_token(self, owner_id: str, now: float, rate: float, burst: int) -> float:
        """Lock the owner's bucket until the transaction ends, refill it and take a token.

        A new owner starts with ``burst`` tokens; ``rate`` tokens are added per second of
        ``now`` (epoch seconds) since the last call, up to ``burst``. Returns the tokens left
        after taking one: below zero means there was none, and the caller must not commit.
        """


def _take_statement(insert: Any) -> Any:
    """The upsert, built once per dialect with bound parameters (building and caching a new
    statement per call cost as much as running it)."""
    at = bindparam("now", type_=Float)
    rate = bindparam("rate", type_=Float)
    burst = bindparam("burst", type_=Float)
    # A clock behind the stored one (another server's) refills nothing and keeps the later.
    later = at > _TABLE.c.refilled_at
    refilled = _TABLE.c.tokens + case((later, at - _TABLE.c.refilled_at), else_=0.0) * rate
    return (
        insert(_TABLE)
        .values(owner_id=bindparam("owner_id"), tokens=burst - 1.0, refilled_at=at)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.owner_id],
            set_={
                "tokens": case((refilled > burst, burst), else_=refilled) - 1.0,
                "refilled_at": case((later, at), else_=_TABLE.c.refilled_at),
            },
        )
        .returning(_TABLE.c.tokens)
    )


_TAKE = {"postgresql": _take_statement(pg_insert), "sqlite": _take_statement(sqlite_insert)}


class SqlAlchemyOwnerLimits(AbstractOwnerLimits):
    """One statement: an upsert that locks the row (PostgreSQL's ON CONFLICT DO UPDATE takes
    its row lock; on SQLite any write takes the database write lock) and returns the tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def take_token(self, owner_id: str, now: float, rate: float, burst: int) -> float:
        stmt = _TAKE[self.session.get_bind().dialect.name]
        params = {"owner_id": owner_id, "now": now, "rate": rate, "burst": float(burst)}
        return float(self.session.execute(stmt, params).scalar_one())

    def forget_idle(self, refilled_before: float, limit: int) -> int:
        result: Any = self.session.execute(forget_statement(_TABLE, refilled_before, limit))
        return int(result.rowcount)

    def count_idle(self, refilled_before: float, limit: int) -> int:
        return int(self.session.scalar(count_statement(_TABLE, refilled_before, limit)) or 0)
