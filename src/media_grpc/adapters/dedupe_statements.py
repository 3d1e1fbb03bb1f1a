"""Dedupe's statements: the READY copy a create may share, and whether another live media
still uses a storage key's objects (before they are deleted)."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, or_, select

from media_grpc.adapters.orm import MediaRow
from media_grpc.domain.model import Status

MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]

#: The dedupe match, on ``ix_media_dedupe`` (its ``status = 'READY'`` predicate included).
READY_COPY = (
    select(MediaRow)
    .where(
        MediaRow.owner_id == bindparam("owner_id"),
        MediaRow.purpose == bindparam("purpose"),
        MediaRow.verified_sha256 == bindparam("sha256"),
        MediaRow.status == Status.READY.value,
    )
    .order_by(MediaRow.id)
    .limit(1)
)

#: Another live media using a key's objects: on the unique storage_key and on
#: ``ix_media_source_key``.
OBJECTS_IN_USE = (
    select(MEDIA.c.id)
    .where(
        or_(MEDIA.c.storage_key == bindparam("key"), MEDIA.c.source_key == bindparam("key")),
        MEDIA.c.id != bindparam("id"),
        MEDIA.c.status != Status.DELETED.value,
    )
    .limit(1)
)
