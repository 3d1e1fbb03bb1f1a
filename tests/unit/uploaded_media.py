"""Tiny real images and an UPLOADED media with its original in storage."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from PIL import Image

from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Status
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def png_bytes(width: int = 320, height: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def uploaded(
    db: FakeDatabase, storage: InMemoryBlobStorage, data: bytes, media_id: str = "m-1"
) -> ProcessingJob:
    """Store ``data`` as the original of a new UPLOADED media; the job CompleteUpload queues."""
    media = make_media(
        "alice",
        status=Status.UPLOADED,
        media_id=media_id,
        at=NOW,
        content_type="image/png",
        expires_at=NOW + timedelta(hours=1),
    )
    storage.put(media.storage_key, data, "image/png")
    etag = storage.head(media.storage_key).etag
    media = replace(media, file_name="a.png", size_bytes=len(data), etag=etag)
    db.media[media_id] = media
    return ProcessingJob.for_media(f"job-{media_id}", media, NOW)
