"""Media records in any status, for tests that skip the upload and the pipeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from media_grpc.domain import keys
from media_grpc.domain.model import Media, Purpose, Status, Variant, VariantKind


def make_media(
    owner_id: str,
    *,
    status: Status = Status.READY,
    purpose: Purpose = Purpose.POST_IMAGE,
    variant_names: tuple[str, ...] = ("thumb", "medium"),
    post_id: str | None = None,
    media_id: str | None = None,
    at: datetime | None = None,
    content_type: str | None = None,
    expires_at: datetime | None = None,
) -> Media:
    """A media with variant records under its output prefix (objects are not written).

    Created and last updated ``at`` (now), its session expiring ``expires_at`` (15 minutes
    later); a DELETED media was deleted ``at``. Variants only when READY.
    """
    now = at or datetime.now(UTC)
    media_id = media_id or str(uuid.uuid4())
    content_type = content_type or ("video/mp4" if purpose.is_video else "image/jpeg")
    key = keys.original_key(purpose, owner_id, media_id, content_type, now)
    prefix = keys.output_prefix(key, video=purpose.is_video)
    ready = status is Status.READY
    return Media(
        id=media_id,
        owner_id=owner_id,
        purpose=purpose,
        status=status,
        storage_key=key,
        file_name="cat.jpg",
        declared_content_type=content_type,
        mime_type=content_type,
        size_bytes=100,
        created_at=now,
        updated_at=now,
        expires_at=expires_at or now + timedelta(minutes=15),
        deleted_at=now if status is Status.DELETED else None,
        variants=[
            Variant(name, VariantKind.IMAGE, f"{prefix}{name}.webp", 10, 10, 0, "image/webp", 10)
            for name in (variant_names if ready else ())
        ],
        hls_key=f"{prefix}master.m3u8" if ready and purpose.is_video else None,
        post_id=post_id,
    )


def add_variants(media: Media, names: tuple[str, ...] = ("w320", "w1080")) -> list[str]:
    """Name a WebP variant per name in ``media``'s record, under its output prefix (objects are
    not written): their keys, for the caller to store."""
    prefix = keys.output_prefix(media.storage_key, video=media.purpose.is_video)
    added = [Variant(name, VariantKind.IMAGE, f"{prefix}{name}.webp") for name in names]
    media.variants.extend(added)
    return [variant.storage_key for variant in added]
