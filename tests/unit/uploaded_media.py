"""Tiny real images and an UPLOADED media with its original in storage."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.keys import original_key
from media_grpc.domain.model import Media, Purpose, Status
from tests.fakes import FakeDatabase, InMemoryBlobStorage

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def png_bytes(width: int = 320, height: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def uploaded(
    db: FakeDatabase, storage: InMemoryBlobStorage, data: bytes, media_id: str = "m-1"
) -> ProcessingJob:
    """Store ``data`` as the original of a new UPLOADED media; the job CompleteUpload queues."""
    key = original_key(Purpose.POST_IMAGE, "alice", media_id, "image/png", NOW)
    storage.put(key, data, "image/png")
    media = Media(
        id=media_id,
        owner_id="alice",
        purpose=Purpose.POST_IMAGE,
        status=Status.UPLOADED,
        storage_key=key,
        file_name="a.png",
        declared_content_type="image/png",
        size_bytes=len(data),
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        mime_type="image/png",
        etag=storage.head(key).etag,
    )
    db.media[media_id] = media
    return ProcessingJob.for_media(f"job-{media_id}", media, NOW)
