"""Copying between domain Media and its table rows."""

from __future__ import annotations

from datetime import UTC, datetime

from media_grpc.adapters.orm import MediaRow, VariantRow
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


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_domain(row: MediaRow, variants: list[VariantRow]) -> Media:
    return Media(
        id=row.id,
        owner_id=row.owner_id,
        purpose=Purpose(row.purpose),
        status=Status(row.status),
        storage_key=row.storage_key,
        file_name=row.file_name,
        declared_content_type=row.declared_content_type,
        size_bytes=row.size_bytes,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        expires_at=_aware(row.expires_at),
        mime_type=row.mime_type,
        sha256=row.sha256,
        idempotency_key=row.idempotency_key,
        request_fingerprint=row.request_fingerprint,
        multipart=(
            MultipartSession(row.upload_id, row.part_size, row.part_count)
            if row.upload_id
            else None
        ),
        etag=row.etag,
        version_id=row.version_id,
        width=row.width,
        height=row.height,
        duration_ms=row.duration_ms,
        failure=(
            Failure(FailureReason(row.failure_reason), row.failure_message or "")
            if row.failure_reason
            else None
        ),
        variants=[
            Variant(
                name=v.name,
                kind=VariantKind(v.kind),
                storage_key=v.storage_key,
                width=v.width,
                height=v.height,
                bitrate=v.bitrate,
                mime_type=v.mime_type,
                size_bytes=v.size_bytes,
            )
            for v in sorted(variants, key=lambda v: v.name)
        ],
        hls_key=row.hls_key,
        metadata=dict(row.metadata_json or {}),
        post_id=row.post_id,
        post_position=row.post_position,
        deleted_at=_aware(row.deleted_at) if row.deleted_at else None,
        upload_swept_at=_aware(row.upload_swept_at) if row.upload_swept_at else None,
    )


def row_values(media: Media) -> dict[str, object]:
    """The media table's columns by column name, for a Core INSERT."""
    multipart = media.multipart
    failure = media.failure
    return {
        "id": media.id,
        "owner_id": media.owner_id,
        "purpose": media.purpose.value,
        "status": media.status.value,
        "storage_key": media.storage_key,
        "file_name": media.file_name,
        "declared_content_type": media.declared_content_type,
        "mime_type": media.mime_type,
        "size_bytes": media.size_bytes,
        "sha256": media.sha256,
        "idempotency_key": media.idempotency_key,
        "request_fingerprint": media.request_fingerprint,
        "upload_id": multipart.upload_id if multipart else None,
        "part_size": multipart.part_size if multipart else 0,
        "part_count": multipart.part_count if multipart else 0,
        "etag": media.etag,
        "version_id": media.version_id,
        "width": media.width,
        "height": media.height,
        "duration_ms": media.duration_ms,
        "failure_reason": failure.reason.value if failure else None,
        "failure_message": failure.message if failure else None,
        "hls_key": media.hls_key,
        "metadata": dict(media.metadata),
        "post_id": media.post_id,
        "post_position": media.post_position,
        "created_at": media.created_at,
        "updated_at": media.updated_at,
        "expires_at": media.expires_at,
        "deleted_at": media.deleted_at,
        "upload_swept_at": media.upload_swept_at,
    }


def copy_to_row(media: Media, row: MediaRow) -> None:
    for name, value in row_values(media).items():
        setattr(row, "metadata_json" if name == "metadata" else name, value)


def variant_values(media_id: str, variant: Variant) -> dict[str, object]:
    """The variant table's columns by column name, for a Core INSERT."""
    return {
        "media_id": media_id,
        "name": variant.name,
        "kind": variant.kind.value,
        "storage_key": variant.storage_key,
        "width": variant.width,
        "height": variant.height,
        "bitrate": variant.bitrate,
        "mime_type": variant.mime_type,
        "size_bytes": variant.size_bytes,
    }


def variant_row(media_id: str, variant: Variant) -> VariantRow:
    return VariantRow(**variant_values(media_id, variant))
