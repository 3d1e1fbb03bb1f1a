"""BlobStorage over boto3 (AWS S3, Ceph's RADOS Gateway, R2, MinIO, the embedded moto server),
put together from one part per job: presigning, multipart, reads, writes, archive."""

from __future__ import annotations

from typing import Any

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.s3_archive import S3Archive
from media_grpc.adapters.s3_client import build_s3_client, presigner_for
from media_grpc.adapters.s3_presigning import S3Presigning
from media_grpc.adapters.s3_writes import COPY_OBJECT_LIMIT, COPY_PART_BYTES, S3Writes

__all__ = ["COPY_OBJECT_LIMIT", "COPY_PART_BYTES", "S3BlobStorage", "build_s3_client"]


class S3BlobStorage(S3Presigning, S3Writes, S3Archive, BlobStorage):
    """Parameters:
    copy_object_limit: bytes above which ``copy`` uses UploadPartCopy (S3: 5 GiB).
    copy_part_bytes: bytes per UploadPartCopy part.
    part_bytes: part size of streamed uploads (``upload_stream``).
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        copy_object_limit: int = COPY_OBJECT_LIMIT,
        copy_part_bytes: int = COPY_PART_BYTES,
        part_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.copy_object_limit = copy_object_limit
        self.copy_part_bytes = copy_part_bytes
        self.part_bytes = part_bytes

        self.presigner = presigner_for(client, bucket)
