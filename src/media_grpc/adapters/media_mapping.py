"""Copying between domain Media and its table rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from media_grpc.adapters.orm import MediaRow, VariantRow
from media_grpc.adapters.row_fields import aware_times, same_named
from media_grpc.domain.model import (
    Failure,
    FailureReason,
    Media,
    MultipartSession,
    Purpose,
    Status,
    Variant,
    VariantKind,
)

#: Media fields held as they are in the media table's columns of the same name.
_MEDIA_COLUMNS = (
    "id",
    "owner_id",
    "storage_key",
    "file_name",
    "declared_content_type",
    "mime_type",
    "size_bytes",
    "sha256",
    "verified_sha256",
    "source_key",
    "idempotency_key",
    "request_fingerprint",
    "etag",
    "version_id",
    "width",
    "height",
    "duration_ms",
    "hls_key",
    "post_id",
    "post_position",
)
#: Media times, stored in UTC in the columns of the same name.
_MEDIA_TIMES = ("created_at", "updated_at", "expires_at", "deleted_at", "upload_swept_at")
#: Variant fields held as they are in the variant table's columns of the same name.
_VARIANT_COLUMNS = ("name", "storage_key", "width", "height", "bitrate", "mime_type", "size_bytes")


def to_domain(row: Any, variants: Sequence[Any]) -> Media:
    """A Media from a MediaRow (or a row with its attribute names) and its variants' rows."""
    return Media(
        **same_named(row, _MEDIA_COLUMNS),
        **aware_times(row, _MEDIA_TIMES),
        purpose=Purpose(row.purpose),
        status=Status(row.status),
        multipart=(
            MultipartSession(row.upload_id, row.part_size, row.part_count)
            if row.upload_id
            else None
        ),
        failure=(
            Failure(FailureReason(row.failure_reason), row.failure_message or "")
            if row.failure_reason
            else None
        ),
        variants=[
            Variant(**same_named(v, _VARIANT_COLUMNS), kind=VariantKind(v.kind))
            for v in sorted(variants, key=lambda v: v.name)
        ],
        metadata=dict(row.metadata_json or {}),
    )


def row_values(media: Media) -> dict[str, object]:
    """The media table's columns by column name, for a Core INSERT."""
    multipart = media.multipart
    failure = media.failure
    return {
        **same_named(media, _MEDIA_COLUMNS + _MEDIA_TIMES),
        "purpose": media.purpose.value,
        "status": media.status.value,
        "upload_id": multipart.upload_id if multipart else None,
        "part_size": multipart.part_size if multipart else 0,
        "part_count": multipart.part_count if multipart else 0,
        "failure_reason": failure.reason.value if failure else None,
        "failure_message": failure.message if failure else None,
        "metadata": dict(media.metadata),
    }


def copy_to_row(media: Media, row: MediaRow) -> None:
    for name, value in row_values(media).items():
        setattr(row, "metadata_json" if name == "metadata" else name, value)


def variant_values(media_id: str, variant: Variant) -> dict[str, object]:
    """The variant table's columns by column name, for a Core INSERT."""
    return {
        "media_id": media_id,
        **same_named(variant, _VARIANT_COLUMNS),
        "kind": variant.kind.value,
    }


def variant_row(media_id: str, variant: Variant) -> VariantRow:
    return VariantRow(**variant_values(media_id, variant))
