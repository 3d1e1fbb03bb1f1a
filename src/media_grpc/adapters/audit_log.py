"""The audit trail's store: events are appended in the unit of work of the change they record,
listed a page at a time, and forgotten in batches after the retention. Nothing else changes one.
"""

from __future__ import annotations

import abc
from datetime import datetime

from sqlalchemy import CTE, Insert, Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from media_grpc.adapters.orm import MediaEventRow
from media_grpc.domain.audit import Actor, ActorKind, AuditAction, EventFilter, MediaEvent

_EVENTS: Table = MediaEventRow.__table__  # type: ignore[assignment]
_INSERT_EVENT = insert(_EVENTS)
#: The prefix of the parameters of an event inserted by another statement (``insert_event_for``).
EVENT_PREFIX = "event_"
#: The event columns a statement binds (media_id comes from the row it changed).
_BOUND = (
    "owner_id",
    "actor_kind",
    "actor",
    "on_behalf_of",
    "action",
    "outcome",
    "detail",
    "request_id",
)


def insert_event_for(changed: CTE) -> Insert:
    """An INSERT of one event per row of ``changed`` (a data-modifying CTE returning the
    media's ``id``), its other columns bound as ``event_values(event, EVENT_PREFIX)``: the
    event exists exactly when the statement changed the row. PostgreSQL only (SQLite has no
    data-modifying CTE)."""
    return insert(_EVENTS).from_select(
        ["media_id", *_BOUND],
        select(
            changed.c.id,
            *[bindparam(EVENT_PREFIX + name, type_=_EVENTS.c[name].type) for name in _BOUND],
        ).select_from(changed),
    )


class AbstractAuditLog(abc.ABC):
    @abc.abstractmethod
    def record(self, event: MediaEvent) -> None:
        """Append ``event``; it exists exactly when the unit of work commits."""

    @abc.abstractmethod
    def page(self, which: EventFilter, after: int | None, limit: int) -> list[MediaEvent]:
        """At most ``limit`` events matching ``which``, in the order they were recorded,
        after the event of sequence ``after`` (from the start when None)."""

    @abc.abstractmethod
    def count_before(self, cutoff: datetime, limit: int) -> int:
        """How many events occurred before ``cutoff``, counting at most ``limit``."""

    @abc.abstractmethod
    def forget_before(self, cutoff: datetime, limit: int) -> int:
        """Delete at most ``limit`` of the oldest events that occurred before ``cutoff``;
        how many were deleted."""


class SqlAlchemyAuditLog(AbstractAuditLog):
    """With ``recording`` off (``MEDIA_LIFECYCLE__AUDIT_EVENTS=false``), ``record`` writes
    nothing; what was recorded before is still listed and forgotten.

    ``record`` sends nothing yet: the event waits in ``pending`` until the unit of work commits
    (``flush``, in the same transaction) or rolls back (``discard``), unless the statement of
    the change itself takes it first (``take_pending``) and inserts it in the same round trip,
    as CreateUploadSession's INSERT and a media transition do on PostgreSQL. An event then
    costs no statement of its own.
    """

    def __init__(self, session: Session, *, recording: bool = True) -> None:
        self.session = session
        self.recording = recording
        #: Events recorded in this transaction and not sent yet, in the order recorded.
        self.pending: list[MediaEvent] = []

    def record(self, event: MediaEvent) -> None:
        if self.recording:
            self.pending.append(event)

    def take_pending(self, media_id: str) -> MediaEvent | None:
        """The one event waiting, if it is ``media_id``'s, for the caller's statement to
        insert (the caller then owns it); None otherwise, and nothing is taken (events
        are stored in the order they were recorded)."""
        if len(self.pending) == 1 and self.pending[0].media_id == media_id:
            return self.pending.pop()
        return None

    def give_back(self, event: MediaEvent) -> None:
        """Return an event taken whose statement inserted nothing (it changed no row)."""
        self.pending.insert(0, event)

    def flush(self) -> None:
        """Insert the events waiting: one prebuilt Core INSERT (no ORM statement built per
        call); occurred_at is left to the database's clock (the column's default)."""
        if self.pending:
            self.session.execute(_INSERT_EVENT, [event_values(e) for e in self.pending])
            self.pending.clear()

    def discard(self) -> None:
        self.pending.clear()

    def page(self, which: EventFilter, after: int | None, limit: int) -> list[MediaEvent]:
        self.flush()
        stmt = select(MediaEventRow)
        if which.media_id:
            stmt = stmt.where(MediaEventRow.media_id == which.media_id)
        if which.owner_id:
            stmt = stmt.where(MediaEventRow.owner_id == which.owner_id)
        if which.since is not None:
            stmt = stmt.where(MediaEventRow.occurred_at >= which.since)
        if which.until is not None:
            stmt = stmt.where(MediaEventRow.occurred_at < which.until)
        if after is not None:
            stmt = stmt.where(MediaEventRow.sequence > after)
        stmt = stmt.order_by(MediaEventRow.sequence).limit(limit)
        return [_event(row) for row in self.session.scalars(stmt)]

    def count_before(self, cutoff: datetime, limit: int) -> int:
        found = (
            select(MediaEventRow.sequence).where(MediaEventRow.occurred_at < cutoff).limit(limit)
        )
        return int(self.session.scalar(select(func.count()).select_from(found.subquery())) or 0)

    def forget_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            select(MediaEventRow.sequence)
            .where(MediaEventRow.occurred_at < cutoff)
            .order_by(MediaEventRow.sequence)
            .limit(limit)
        )
        result = self.session.execute(
            delete(MediaEventRow).where(MediaEventRow.sequence.in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)


def event_values(event: MediaEvent, prefix: str = "") -> dict[str, str]:
    """The columns of ``event``'s row (all but the store's sequence and clock), their names
    prefixed by ``prefix`` (a statement that binds them beside other parameters)."""
    return {
        f"{prefix}media_id": event.media_id,
        f"{prefix}owner_id": event.owner_id,
        f"{prefix}actor_kind": event.actor.kind.value,
        f"{prefix}actor": event.actor.subject,
        f"{prefix}on_behalf_of": event.actor.on_behalf_of,
        f"{prefix}action": event.action.value,
        f"{prefix}outcome": event.outcome,
        f"{prefix}detail": event.detail,
        f"{prefix}request_id": event.request_id,
    }


def _event(row: MediaEventRow) -> MediaEvent:
    return MediaEvent(
        media_id=row.media_id,
        owner_id=row.owner_id,
        actor=Actor(ActorKind(row.actor_kind), row.actor, row.on_behalf_of),
        action=AuditAction(row.action),
        outcome=row.outcome,
        detail=row.detail,
        request_id=row.request_id,
        occurred_at=row.occurred_at,
        sequence=row.sequence,
    )
