"""Where the strict S3 (Ceph's RADOS Gateway) answers otherwise than AWS S3, the adapter still
answers as its port promises. Each deviation of the test store is checked as it is first, so
that a store that fixes one (or MEDIA_TEST_S3_URL naming another) says so instead of passing
for the wrong reason."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from media_grpc.adapters.blob_storage import BlobNotFound
from media_grpc.adapters.s3_storage import S3BlobStorage

PART = 5 * 1024 * 1024


@pytest.fixture
def storage(s3_admin: Any, own_bucket: str) -> S3BlobStorage:
    return S3BlobStorage(s3_admin, own_bucket)


@pytest.fixture
def upload(storage: S3BlobStorage) -> Iterator[tuple[str, str, list[tuple[int, str]]]]:
    """A multipart upload of two stored parts: (key, upload id, [(number, ETag)])."""
    key = "uploads/deviation/object.bin"
    upload_id = storage.create_multipart_upload(key, content_type="application/octet-stream")
    parts = []
    for number, data in enumerate((b"a" * PART, b"b" * 1024), start=1):
        answer = storage.client.upload_part(
            Bucket=storage.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        parts.append((number, str(answer["ETag"])))
    yield key, upload_id, parts
    storage.abort_multipart_upload(key, upload_id)


def md5_of_md5s(*parts: bytes) -> str:
    joined = b"".join(hashlib.md5(part, usedforsecurity=False).digest() for part in parts)
    return f'"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def test_complete_multipart_upload_answers_the_etag_the_store_left_out(
    storage: S3BlobStorage, upload: tuple[str, str, list[tuple[int, str]]]
) -> None:
    key, upload_id, parts = upload
    raw = storage.client.complete_multipart_upload(
        Bucket=storage.bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
    )
    assert raw.get("ETag", "").strip('"') == "", "the store now answers an ETag: update the docs"
    again = storage.create_multipart_upload(key, content_type="application/octet-stream")
    for number, data in enumerate((b"a" * PART, b"b" * 1024), start=1):
        storage.client.upload_part(
            Bucket=storage.bucket, Key=key, UploadId=again, PartNumber=number, Body=data
        )

    etag = storage.complete_multipart_upload(key, again, parts)

    assert etag == md5_of_md5s(b"a" * PART, b"b" * 1024)
    assert etag == storage.head(key).etag


def test_list_parts_of_an_aborted_upload_is_blob_not_found_though_the_store_says_no_such_key(
    storage: S3BlobStorage, upload: tuple[str, str, list[tuple[int, str]]]
) -> None:
    key, upload_id, _ = upload
    storage.abort_multipart_upload(key, upload_id)
    with pytest.raises(ClientError) as raw:
        storage.client.list_parts(Bucket=storage.bucket, Key=key, UploadId=upload_id)
    assert raw.value.response["Error"]["Code"] == "NoSuchKey", "the store now says NoSuchUpload"

    with pytest.raises(BlobNotFound, match="NoSuchKey"):
        storage.list_parts(key, upload_id)
    storage.abort_multipart_upload(key, upload_id)  # gone already: not an error


def test_a_put_in_a_storage_class_the_store_lacks_is_refused_though_a_transition_to_it_is_not(
    storage: S3BlobStorage,
) -> None:
    """Why `storage check` proves the archive class with a PUT (see test_storage_check.py)."""
    rule = {
        "ID": "to-glacier",
        "Status": "Enabled",
        "Filter": {"Prefix": "originals/"},
        "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}],
    }
    storage.client.put_bucket_lifecycle_configuration(
        Bucket=storage.bucket, LifecycleConfiguration={"Rules": [rule]}
    )

    with pytest.raises(ClientError) as refused:
        storage.client.put_object(
            Bucket=storage.bucket, Key="originals/x", Body=b"x", StorageClass="GLACIER"
        )

    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
