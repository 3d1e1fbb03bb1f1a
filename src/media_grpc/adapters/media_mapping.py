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


def copy_to_row(media: Media, row: MediaRow) -> None:
    row.id = media.id
    row.owner_id = media.owner_id
    row.purpose = media.purpose.value
    row.status = media.status.value
    row.storage_key = media.storage_key
    row.file_name = media.file_name
    row.declared_content_type = media.declared_content_type
    row.mime_type = media.mime_type
    row.size_bytes = media.size_bytes
    row.sha256 = media.sha256
    row.idempotency_key = media.idempotency_key
    row.request_fingerprint = media.request_fingerprint
    row.upload_id = media.multipart.upload_id if media.multipart else None
    row.part_size = media.multipart.part_size if media.multipart else 0
    row.part_count = media.multipart.part_count if media.multipart else 0
    row.etag = media.etag
    row.version_id = media.version_id
    row.width = media.width
    row.height = media.height
    row.duration_ms = media.duration_ms
    row.failure_reason = media.failure.reason.value if media.failure else None
    row.failure_message = media.failure.message if media.failure else None
    row.hls_key = media.hls_key
    row.metadata_json = dict(media.metadata)
    row.post_id = media.post_id
    row.post_position = media.post_position
    row.created_at = media.created_at
    row.updated_at = media.updated_at
    row.expires_at = media.expires_at
    row.deleted_at = media.deleted_at
    row.upload_swept_at = media.upload_swept_at


def variant_row(media_id: str, variant: Variant) -> VariantRow:
    return VariantRow(
        media_id=media_id,
        name=variant.name,
        kind=variant.kind.value,
        storage_key=variant.storage_key,
        width=variant.width,
        height=variant.height,
        bitrate=variant.bitrate,
        mime_type=variant.mime_type,
        size_bytes=variant.size_bytes,
    )
