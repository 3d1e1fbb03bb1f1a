"""Buckets of a test's own on the shared strict S3: unique names, so that several runs can share
one store, emptied and deleted afterwards, so that the store (memory-backed) does not grow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from media_grpc.adapters.s3_storage import build_s3_client
from tests.services import S3Service


def client_of(s3: S3Service, region: str = "us-east-1") -> Any:
    """A boto3 client of ``s3`` (SigV4, path-style addressing, as the service builds it)."""
    return build_s3_client(s3.url, region, s3.access_key, s3.secret_key, "path")


def unique_bucket(prefix: str) -> str:
    """``prefix`` and 12 random hex digits: a valid bucket name nobody else uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def delete_bucket(client: Any, bucket: str) -> None:
    """Abort the bucket's multipart uploads, delete every object (every version) and the
    bucket itself; a bucket already gone is fine."""
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in page.get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise


@contextmanager
def scratch_bucket(client: Any, prefix: str, bucket: str | None = None) -> Iterator[str]:
    """A new bucket (``bucket``, or ``prefix`` and a unique suffix), deleted with its contents
    afterwards."""
    name = bucket or unique_bucket(prefix)
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        delete_bucket(client, name)
