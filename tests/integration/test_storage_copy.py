"""The storage adapter's constant-size reads, streamed reads and pinned server-side copies,
on the strict S3."""

from __future__ import annotations

import os
import uuid

import pytest

from media_grpc.adapters.blob_storage import BlobNotFound, ObjectInfo
from media_grpc.adapters.s3_storage import S3BlobStorage
from media_grpc.bootstrap import Application
from tests.integration.uploading import uploads_in_progress

MiB = 1024 * 1024


def put(app: Application, data: bytes, content_type: str = "video/mp4") -> str:
    key = f"uploads/posts/copy-test/{uuid.uuid4().hex}.mp4"
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket, Key=key, Body=data, ContentType=content_type
    )
    return key


def test_read_start_answers_size_etag_and_type_of_the_whole_object_from_its_first_bytes(
    app: Application,
) -> None:
    data = os.urandom(300_000)
    key = put(app, data)
    info, head = app.storage.read_start(key, 1000)
    assert head == data[:1000]
    assert (info.size, info.content_type) == (len(data), "video/mp4")
    assert info.etag == app.storage.head(key).etag


def test_read_start_of_an_empty_object_is_its_facts_and_no_bytes(app: Application) -> None:
    key = put(app, b"")
    info, head = app.storage.read_start(key, 1000)
    assert (info.size, head) == (0, b"")


def test_read_start_of_a_missing_key_is_blob_not_found(app: Application) -> None:
    with pytest.raises(BlobNotFound):
        app.storage.read_start(f"uploads/none/{uuid.uuid4().hex}", 1000)


def test_a_streamed_read_hands_over_every_chunk_only_from_the_pinned_content(
    app: Application,
) -> None:
    data = os.urandom(2 * MiB + 5)
    key = put(app, data)
    chunks: list[bytes] = []
    app.storage.read_chunks(key, chunks.append, etag=app.storage.head(key).etag)
    assert b"".join(chunks) == data
    assert len(chunks) > 1
    with pytest.raises(BlobNotFound):
        app.storage.read_chunks(key, chunks.append, etag='"0123456789abcdef0123456789abcdef"')
    with pytest.raises(BlobNotFound):
        app.storage.read_chunks(key + ".missing", chunks.append)


@pytest.mark.parametrize("limit", [5 * 1024**3, 5 * MiB], ids=["copy-object", "upload-part-copy"])
def test_copy_is_pinned_to_the_etag_in_one_request_or_in_parts(
    app: Application, limit: int
) -> None:
    storage = S3BlobStorage(
        app.s3_client, app.settings.s3_bucket, copy_object_limit=limit, copy_part_bytes=5 * MiB
    )
    data = os.urandom(11 * MiB)
    source = put(app, data)
    etag = storage.head(source).etag
    target = source.replace("uploads/", "originals/", 1)

    storage.copy(source, target, pinned=ObjectInfo(len(data), etag, "video/mp4"))

    copied = storage.head(target)
    assert (copied.size, copied.content_type) == (len(data), "video/mp4")
    assert storage.read_range(target, 0, len(data) - 1) == data


@pytest.mark.parametrize("limit", [5 * 1024**3, 5 * MiB], ids=["copy-object", "upload-part-copy"])
def test_copy_of_replaced_content_is_blob_not_found_and_leaves_nothing(
    app: Application, limit: int
) -> None:
    storage = S3BlobStorage(
        app.s3_client, app.settings.s3_bucket, copy_object_limit=limit, copy_part_bytes=5 * MiB
    )
    source = put(app, os.urandom(11 * MiB))
    pinned = storage.head(source).etag
    app.s3_client.put_object(Bucket=app.settings.s3_bucket, Key=source, Body=os.urandom(11 * MiB))
    target = source.replace("uploads/", "originals/", 1)

    with pytest.raises(BlobNotFound):
        storage.copy(source, target, pinned=ObjectInfo(11 * MiB, pinned, "video/mp4"))

    assert storage.list_keys(target) == []
    assert uploads_in_progress(app, target) == []
