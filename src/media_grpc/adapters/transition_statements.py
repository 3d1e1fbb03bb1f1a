"""The UPDATE of a media transition (``SqlAlchemyMediaRepository.transition``), built once per
set of columns it writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Executable, Table, bindparam, func, select, update

from media_grpc.adapters.audit_log import insert_event_for
from media_grpc.adapters.change_notify import STATUS_CHANNEL
from media_grpc.adapters.orm import MediaRow

_MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]

#: Transition UPDATEs by (columns written, NOTIFY sent, audit event inserted), each built and
#: compiled once: building one per call cost more CPU than running it. The code's transitions
#: write a few dozen sets of columns at most.
_TRANSITIONS: dict[tuple[tuple[str, ...], bool, bool], Executable] = {}


def transition_statement(columns: tuple[str, ...], notify: bool, event: bool) -> Executable:
    """An UPDATE of ``columns`` (bound as ``set_<name>``) of the media ``where_id`` while in
    status ``where_status``, returning a row per row written. ``notify``: PostgreSQL's NOTIFY
    of change_notify.py, sent by the UPDATE itself for the row it wrote. ``event``: the audit
    event of the change (bound as ``event_values(event, EVENT_PREFIX)``) inserted by the same
    statement when it wrote the row (PostgreSQL)."""
    key = (columns, notify, event)
    found = _TRANSITIONS.get(key)
    if found is not None:
        return found
    stmt = (
        update(_MEDIA)
        .where(_MEDIA.c.id == bindparam("where_id"), _MEDIA.c.status == bindparam("where_status"))
        .values({name: bindparam(f"set_{name}", type_=_MEDIA.c[name].type) for name in columns})
    )
    returned: list[ColumnElement[Any]] = [_MEDIA.c.id] if event else []
    if notify:
        returned.append(func.pg_notify(STATUS_CHANNEL, _MEDIA.c.id).label("notified"))
    if returned:
        stmt = stmt.returning(*returned)
    built: Executable = stmt
    if event:
        changed = stmt.cte("changed")
        built = select(*changed.c).add_cte(insert_event_for(changed).cte("event"))
    _TRANSITIONS[key] = built
    return built
