"""The statements of the verified-hash backfill (service/hash_backfill.py).

An unhashed media is READY without a verified sha256 and with objects of its own (no source
key): it became READY before its job hashed originals (migration 0008). A media made by a
dedupe hit copies its source's hash, so it is never one. ``SqlAlchemyMediaRepository`` runs
these; the fake repository in tests/fakes.py answers the same in memory, and
tests/integration/test_repository_contract.py holds both to them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, select, update

from media_grpc.adapters.orm import MediaRow
from media_grpc.domain.model import Status

_MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]

_UNHASHED: list[ColumnElement[bool]] = [
    _MEDIA.c.status == Status.READY.value,
    _MEDIA.c.verified_sha256.is_(None),
    _MEDIA.c.source_key.is_(None),
]

#: Record a verified sha256 only while the media is still unhashed and pinned to the ETag
#: that was read: a deletion, a job or another backfill that changed it first wins. Leaves
#: ``updated_at`` alone (the unattached-media sweep reads it).
RECORD_VERIFIED_SHA256 = (
    update(_MEDIA)
    .where(_MEDIA.c.id == bindparam("b_id"), _MEDIA.c.etag == bindparam("b_etag"), *_UNHASHED)
    .values(verified_sha256=bindparam("b_sha256"))
)


def _of(owner_id: str | None) -> list[ColumnElement[bool]]:
    return [*_UNHASHED, *([] if owner_id is None else [_MEDIA.c.owner_id == owner_id])]


def unhashed_page(after_id: str | None, limit: int, owner_id: str | None) -> Select[MediaRow]:
    """At most ``limit`` unhashed media (of ``owner_id`` when given) after ``after_id``, in id
    order."""
    stmt = select(MediaRow).where(*_of(owner_id))
    if after_id is not None:
        stmt = stmt.where(MediaRow.id > after_id)
    return stmt.order_by(MediaRow.id).limit(limit)


def unhashed_count(owner_id: str | None) -> Select[int]:
    """How many unhashed media there are (of ``owner_id`` when given)."""
    return select(func.count()).select_from(_MEDIA).where(*_of(owner_id))
