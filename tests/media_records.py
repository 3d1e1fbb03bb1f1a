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
) -> Media:
    """A media with variant records under its output prefix (objects are not written)."""
    now = datetime.now(UTC)
    media_id = str(uuid.uuid4())
    content_type = "video/mp4" if purpose.is_video else "image/jpeg"
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
        expires_at=now + timedelta(minutes=15),
        variants=[
            Variant(name, VariantKind.IMAGE, f"{prefix}{name}.webp", 10, 10, 0, "image/webp", 10)
            for name in (variant_names if ready else ())
        ],
        hls_key=f"{prefix}master.m3u8" if ready and purpose.is_video else None,
        post_id=post_id,
    )
