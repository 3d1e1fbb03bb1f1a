"""Forgetting idle per-owner token buckets (``owner_limit``, ``owner_call_rate``): the part of
the two bucket ports the cleanup uses, and the statements both SQLAlchemy implementations run.

A bucket untouched for longer than it takes to refill completely is full, and a full bucket
is exactly what a missing row means to the take upsert (a new row starts with ``burst``
tokens): deleting such a row is invisible to callers. The retention that decides "idle" is
checked against the slowest refill with the settings (``Settings``).

Racing a take, on PostgreSQL (READ COMMITTED, the engines' level):

- The row is locked by a take in progress (CreateUploadSession holds its owner's row until its
  transaction ends): the DELETE's ``FOR UPDATE SKIP LOCKED`` subquery skips it, so a sweep
  never waits on an admission, and never deletes a bucket being refilled.
- A take committed after the DELETE's snapshot: locking the row re-checks the WHERE on the
  row's latest version (and the DELETE checks ``refilled_at`` again), which was just refilled:
  it stays.
- The sweep holds the row (deleted, not yet committed) when a take's ``INSERT ... ON CONFLICT
  DO UPDATE`` conflicts with it: the take waits for the sweep's commit, finds the row it
  conflicted with gone and starts over, inserting a new row with a full bucket. Two takes of
  one owner waiting there are still serialised: the second conflicts with the first one's new
  row and waits for its transaction, so the row lock still orders an owner's admissions.

On SQLite there is one writer: the DELETE and a take each hold the database's write lock for
their whole transaction, so one runs entirely before the other.
"""

from __future__ import annotations

import abc
from typing import Any, TypeVar

from sqlalchemy import Delete, Select, delete, func, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

K = TypeVar("K")


class IdleBuckets(abc.ABC):
    """The cleanup's side of a bucket port. ``refilled_before`` is in epoch seconds, as the
    rows' ``refilled_at`` (the servers' wall clock)."""

    @abc.abstractmethod
    def forget_idle(self, refilled_before: float, limit: int) -> int:
        """Delete at most ``limit`` buckets last refilled before ``refilled_before``, skipping
        any a take holds; how many went. In the caller's transaction where there is one."""

    @abc.abstractmethod
    def count_idle(self, refilled_before: float, limit: int) -> int:
        """How many buckets were last refilled before ``refilled_before`` (at most ``limit``)."""


def forget_statement(table: Any, refilled_before: float, limit: int) -> Delete:
    """``DELETE ... WHERE key IN (SELECT key ... LIMIT n FOR UPDATE SKIP LOCKED)``, the
    WHERE on ``refilled_at`` checked again on the row deleted. SQLite ignores the FOR UPDATE."""
    idle = table.c.refilled_at < refilled_before
    keys = list(table.primary_key.columns)
    claimed = select(*keys).where(idle).limit(limit).with_for_update(skip_locked=True)
    key: ColumnElement[Any] = keys[0] if len(keys) == 1 else tuple_(*keys)
    return delete(table).where(key.in_(claimed), idle)


def count_statement(table: Any, refilled_before: float, limit: int) -> Select[int]:
    """The number of idle rows, counting no further than ``limit``."""
    idle = select(table.c.refilled_at).where(table.c.refilled_at < refilled_before).limit(limit)
    return select(func.count()).select_from(idle.subquery())


def forget_idle_in(
    buckets: dict[K, tuple[float, float]], refilled_before: float, limit: int
) -> int:
    """``forget_idle`` on in-memory buckets: key -> (tokens, refilled_at)."""
    idle = [key for key, (_, at) in buckets.items() if at < refilled_before][:limit]
    for key in idle:
        del buckets[key]
    return len(idle)


def count_idle_in(buckets: dict[K, tuple[float, float]], refilled_before: float, limit: int) -> int:
    """``count_idle`` on in-memory buckets: key -> (tokens, refilled_at)."""
    return min(limit, sum(at < refilled_before for _, at in buckets.values()))
