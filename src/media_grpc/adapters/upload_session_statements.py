"""CreateUploadSession's statements on the media table, built once at import.

Building a statement per call cost as much CPU as running it; Core columns skip the ORM's
compilation of entities. ``SqlAlchemyMediaRepository`` runs them.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, func, insert, select

from media_grpc.adapters.audit_log import insert_event_for
from media_grpc.adapters.orm import MediaRow
from media_grpc.domain.model import Status

MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]

#: CreateUploadSession's PENDING count, built once: building a statement per call cost as
#: much CPU as running it, and Core columns skip the ORM's compilation of entities.
OPEN_SESSION_EXPIRIES = (
    select(MEDIA.c.expires_at)
    .where(
        MEDIA.c.owner_id == bindparam("owner_id"),
        MEDIA.c.status == Status.PENDING.value,
        MEDIA.c.expires_at > bindparam("now"),
    )
    .order_by(MEDIA.c.expires_at)
    .limit(bindparam("limit"))
)


#: CreateUploadSession's INSERT, made only while the owner holds fewer than ``cap`` PENDING
#: sessions still open at ``now``: the PENDING count and the insert in one round trip.
INSERT_BELOW_PENDING_CAP = (
    insert(MEDIA)
    .from_select(
        [c.name for c in MEDIA.columns],
        select(*[bindparam(c.name, type_=c.type) for c in MEDIA.columns]).where(
            select(func.count())
            .select_from(
                select(MEDIA.c.id)
                .where(
                    MEDIA.c.owner_id == bindparam("owner_id"),
                    MEDIA.c.status == Status.PENDING.value,
                    MEDIA.c.expires_at > bindparam("now"),
                )
                .limit(bindparam("cap"))
                .subquery()
            )
            .scalar_subquery()
            < bindparam("cap")
        ),
    )
    .returning(MEDIA.c.id)
)

_INSERTED = INSERT_BELOW_PENDING_CAP.cte("inserted")

#: The same INSERT with the session's audit event (bound by ``event_values(event,
#: EVENT_PREFIX)``), inserted by the same statement when the media row is: one round trip for
#: both on PostgreSQL. Returns the media's id, or no row.
INSERT_BELOW_PENDING_CAP_WITH_EVENT = select(_INSERTED.c.id).add_cte(
    insert_event_for(_INSERTED).cte("event")
)
