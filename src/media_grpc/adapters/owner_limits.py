"""The per-owner token bucket port and its SQLAlchemy implementation (PostgreSQL, SQLite)."""

from __future__ import annotations

import abc
from typing import Any

from sqlalchemy import Float, case, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from media_grpc.adapters.orm import OwnerLimitRow

_TABLE: Any = OwnerLimitRow.__table__


class AbstractOwnerLimits(abc.ABC):
    @abc.abstractmethod
    def take_token(self, owner_id: str, now: float, rate: float, burst: int) -> float:
        """Lock the owner's bucket until the transaction ends, refill it and take a token.

        A new owner starts with ``burst`` tokens; ``rate`` tokens are added per second of
        ``now`` (epoch seconds) since the last call, up to ``burst``. Returns the tokens left
        after taking one: below zero means there was none, and the caller must not commit.
        """


class SqlAlchemyOwnerLimits(AbstractOwnerLimits):
    """One statement: an upsert that locks the row (PostgreSQL's ON CONFLICT DO UPDATE takes
    its row lock; on SQLite any write takes the database write lock) and returns the tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def take_token(self, owner_id: str, now: float, rate: float, burst: int) -> float:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        at = literal(now, Float)
        # A clock behind the stored one (another server's) refills nothing and keeps the later.
        elapsed = case((at > _TABLE.c.refilled_at, at - _TABLE.c.refilled_at), else_=0.0)
        refilled = _TABLE.c.tokens + elapsed * rate
        capped = case((refilled > float(burst), float(burst)), else_=refilled)
        stmt = (
            insert(_TABLE)
            .values(owner_id=owner_id, tokens=float(burst) - 1.0, refilled_at=now)
            .on_conflict_do_update(
                index_elements=[_TABLE.c.owner_id],
                set_={
                    "tokens": capped - 1.0,
                    "refilled_at": case(
                        (at > _TABLE.c.refilled_at, at), else_=_TABLE.c.refilled_at
                    ),
                },
            )
            .returning(_TABLE.c.tokens)
        )
        return float(self.session.execute(stmt).scalar_one())
