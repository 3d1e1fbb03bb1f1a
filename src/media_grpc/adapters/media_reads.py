"""Reading media without locking them: one Core statement for the rows and their variants.

The ORM read of a media took two round trips (the row, then its variants) and built
instrumented objects nobody changes. This one joins the variants in, so a read is one
statement (and one snapshot), and maps the plain rows to domain objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from media_grpc.adapters.media_mapping import to_domain
from media_grpc.adapters.orm import MediaRow, VariantRow
from media_grpc.domain.model import Media

_MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]
_VARIANT: Table = VariantRow.__table__  # type: ignore[assignment]


class VariantColumns(NamedTuple):
    """A variant's columns, named as VariantRow's attributes (what ``to_domain`` reads)."""

    name: str
    kind: str
    storage_key: str
    width: int
    height: int
    bitrate: int
    mime_type: str
    size_bytes: int


_VARIANT_LABELS = [f"variant_{name}" for name in VariantColumns._fields]

#: The media of ``ids`` with one row per variant (or one without), in id order. Media columns
#: are labelled as MediaRow's attributes, so that ``to_domain`` reads a row as it reads one.
_JOINED = select(
    *[c.label("metadata_json") if c.name == "metadata" else c for c in _MEDIA.columns],
    *[
        _VARIANT.c[name].label(label)
        for name, label in zip(VariantColumns._fields, _VARIANT_LABELS, strict=True)
    ],
).select_from(_MEDIA.outerjoin(_VARIANT, _VARIANT.c.media_id == _MEDIA.c.id))
_READ_MANY = _JOINED.where(_MEDIA.c.id.in_(bindparam("ids", expanding=True))).order_by(_MEDIA.c.id)
#: One media: the same SQL text every time (an expanding IN is rendered anew per call).
_READ_ONE = _JOINED.where(_MEDIA.c.id == bindparam("id"))


def read_media(session: Session, media_ids: Sequence[str]) -> list[Media]:
    """The media among ``media_ids`` that exist, in id order, each with its variants."""
    rows: dict[str, Any] = {}
    variants: dict[str, list[VariantColumns]] = {}
    if len(media_ids) == 1:
        found = session.execute(_READ_ONE, {"id": media_ids[0]})
    else:
        found = session.execute(_READ_MANY, {"ids": list(media_ids)})
    for row in found:
        if row.id not in rows:
            rows[row.id] = row
            variants[row.id] = []
        if row.variant_name is not None:
            variants[row.id].append(VariantColumns(*(row._mapping[k] for k in _VARIANT_LABELS)))
    return [to_domain(row, variants[media_id]) for media_id, row in rows.items()]
