"""Publishing status changes: a PostgreSQL NOTIFY inside the transaction that makes them.

NOTIFY is transactional: listeners hear it when (and only if) the transaction commits, so a
watcher never sees a status that was rolled back. Every status change goes through the ORM
(``SqlAlchemyMediaRepository.save``); a flush that changes ``media.status`` sends one NOTIFY
per media on ``STATUS_CHANNEL`` with the media id as payload. A write that bypasses the ORM
must call ``notify_status_change`` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.orm import MediaRow

#: The PostgreSQL channel of status changes.
STATUS_CHANNEL = "media_status"


def notify_status_change(connection: Connection | Session, media_id: str) -> None:
    """Queue a NOTIFY for ``media_id`` in the current transaction (PostgreSQL only)."""
    connection.execute(select(func.pg_notify(STATUS_CHANNEL, media_id)))


def _changed_status_ids(session: Session) -> list[str]:
    changed = []
    for obj in session.dirty:
        if isinstance(obj, MediaRow) and inspect(obj).attrs.status.history.has_changes():
            changed.append(obj.id)
    return changed


def install_status_notifications(session_factory: sessionmaker[Session]) -> None:
    """Make every session of ``session_factory`` NOTIFY the status changes it flushes."""
    from sqlalchemy import event

    pending_key = "media_status_changes"

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        ids = _changed_status_ids(session)
        if ids:
            session.info.setdefault(pending_key, set()).update(ids)

    def after_flush(session: Session, _context: Any) -> None:
        ids = session.info.pop(pending_key, None)
        if not ids or session.get_bind().dialect.name != "postgresql":
            return
        for media_id in sorted(ids):
            notify_status_change(session.connection(), media_id)

    event.listen(session_factory, "before_flush", before_flush)
    event.listen(session_factory, "after_flush", after_flush)
