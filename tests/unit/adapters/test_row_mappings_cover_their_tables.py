"""The row mappings copy fields by name (adapters/row_fields.py), which mypy cannot follow:
these checks stand in for it. Every field of a domain record is mapped, every column of its
table is written, and every name copied as is exists on both sides."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Table

from media_grpc.adapters import import_repository, media_mapping
from media_grpc.adapters.orm import ImportRow, MediaRow, VariantRow
from media_grpc.domain.imports import ImportRecord
from media_grpc.domain.model import Media, Variant, VariantKind
from tests.media_records import make_media


def columns(row_class: type) -> set[str]:
    table = row_class.__table__
    assert isinstance(table, Table)
    return {column.name for column in table.columns}


def fields(record: type) -> set[str]:
    return {field.name for field in dataclasses.fields(record)}


#: (record, row, names copied as they are, names mapped by hand on the record's side)
CASES = [
    pytest.param(
        Media,
        MediaRow,
        media_mapping._MEDIA_COLUMNS + media_mapping._MEDIA_TIMES,
        {"purpose", "status", "multipart", "failure", "variants", "metadata"},
        id="media",
    ),
    pytest.param(Variant, VariantRow, media_mapping._VARIANT_COLUMNS, {"kind"}, id="variant"),
    pytest.param(
        ImportRecord,
        ImportRow,
        import_repository._IMPORT_COLUMNS + import_repository._IMPORT_TIMES,
        {"purpose", "state"},
        id="import",
    ),
]


@pytest.mark.parametrize(("record", "row", "copied", "by_hand"), CASES)
def test_every_field_is_mapped_once_and_every_copied_name_is_a_column(
    record: type, row: type, copied: tuple[str, ...], by_hand: set[str]
) -> None:
    assert len(set(copied)) == len(copied)
    assert set(copied) | by_hand == fields(record)
    assert not set(copied) & by_hand
    assert set(copied) <= columns(row)


def test_a_media_row_is_written_whole() -> None:
    assert set(media_mapping.row_values(make_media("u-1"))) == columns(MediaRow)


def test_a_variant_row_is_written_whole() -> None:
    variant = Variant("w320", VariantKind.IMAGE, "k", 320, 240)
    assert set(media_mapping.variant_values("m", variant)) == columns(VariantRow)
