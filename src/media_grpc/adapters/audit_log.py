"""The audit trail's store: events are appended in the unit of work of the change they record,
listed a page at a time, and forgotten in batches after the retention. Nothing else changes one.
"""

from __future__ import annotations

import abc
from datetime import datetime

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from media_grpc.adapters.orm import MediaEventRow
from media_grpc.domain.audit import Actor, ActorKind, AuditAction, EventFilter, MediaEvent

_EVENTS: Table = MediaEventRow.__table__  # type: ignore[assignment]
_INSERT_EVENT = insert(_EVENTS)


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
    nothing; what was recorded before is still listed and forgotten."""

    def __init__(self, session: Session, *, recording: bool = True) -> None:
        self.session = session
        self.recording = recording

    def record(self, event: MediaEvent) -> None:
        if not self.recording:
            return
        # One prebuilt Core INSERT (no ORM statement built per call); occurred_at is left to
        # the database's clock (the column's default).
        self.session.execute(
            _INSERT_EVENT,
            {
                "media_id": event.media_id,
                "owner_id": event.owner_id,
                "actor_kind": event.actor.kind.value,
                "actor": event.actor.subject,
                "on_behalf_of": event.actor.on_behalf_of,
                "action": event.action.value,
                "outcome": event.outcome,
                "detail": event.detail,
                "request_id": event.request_id,
            },
        )

    def page(self, which: EventFilter, after: int | None, limit: int) -> list[MediaEvent]:
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
