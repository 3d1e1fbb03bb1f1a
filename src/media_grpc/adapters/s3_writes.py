"""Writing objects: pinned server-side copies, uploads of files and streams, deletes, listing."""

from __future__ import annotations

from pathlib import Path

from boto3.s3.transfer import TransferConfig

from media_grpc.adapters.blob_storage import ObjectInfo, Readable
from media_grpc.adapters.s3_errors import translated
from media_grpc.adapters.s3_multipart import S3Multipart
from media_grpc.adapters.s3_reads import S3Reads

#: Largest object one CopyObject may copy; above it, UploadPartCopy (S3's limit).
COPY_OBJECT_LIMIT = 5 * 1024**3
#: Bytes per UploadPartCopy part (S3 allows 5 MiB to 5 GiB, at most 10,000 parts).
COPY_PART_BYTES = 512 * 1024**2


class S3Writes(S3Multipart, S3Reads):
    """Copies and streamed uploads; ``S3BlobStorage`` sets (and documents) the three sizes."""

    copy_object_limit: int
    copy_part_bytes: int
    part_bytes: int

    def copy(self, source: str, target: str, *, pinned: ObjectInfo) -> None:
        etag, version_id, size = pinned.etag, pinned.version_id, pinned.size
        content_type = pinned.content_type
        copy_source = {"Bucket": self.bucket, "Key": source}
        if version_id:
            copy_source["VersionId"] = version_id
        with translated(f"copy {source}"):
            # Some S3-compatible stores (moto among them) ignore x-amz-copy-source-if-match:
            # a pinned HEAD first leaves them only the milliseconds between the two requests.
            version = {"VersionId": version_id} if version_id else {}
            self.client.head_object(Bucket=self.bucket, Key=source, IfMatch=etag, **version)
            if size <= self.copy_object_limit:
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=target,
                    CopySource=copy_source,
                    CopySourceIfMatch=etag,
                    MetadataDirective="REPLACE",
                    ContentType=content_type,
                )
                return
        self._copy_in_parts(copy_source, target, etag, size, content_type)

    def _copy_in_parts(
        self, copy_source: dict[str, str], target: str, etag: str, size: int, content_type: str
    ) -> None:
        """UploadPartCopy, every part pinned to ``etag``; aborted if any part fails."""
        part_bytes = max(self.copy_part_bytes, -(-size // 10_000))
        upload_id = self.create_multipart_upload(target, content_type=content_type)
        parts: list[tuple[int, str]] = []
        try:
            with translated(f"copy {copy_source['Key']} in parts"):
                for number, start in enumerate(range(0, size, part_bytes), start=1):
                    end = min(start + part_bytes, size) - 1
                    answer = self.client.upload_part_copy(
                        Bucket=self.bucket,
                        Key=target,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource=copy_source,
                        CopySourceIfMatch=etag,
                        CopySourceRange=f"bytes={start}-{end}",
                    )
                    parts.append((number, str(answer["CopyPartResult"]["ETag"])))
            self.complete_multipart_upload(target, upload_id, parts)
        except BaseException:
            self.abort_multipart_upload(target, upload_id)
            raise

    def upload_file(self, path: Path, key: str, *, content_type: str, cache_control: str) -> None:
        with translated(f"upload {key}"):
            self.client.upload_file(
                str(path),
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type, "CacheControl": cache_control},
            )

    def upload_stream(self, stream: Readable, key: str, *, content_type: str) -> ObjectInfo:
        """One PUT for a small body, else a multipart upload of ``part_bytes`` parts, read as
        they are sent: at most one part per thread is in memory. A failed read aborts the
        multipart upload (s3transfer does), so nothing is left at ``key``."""
        config = TransferConfig(
            multipart_threshold=self.part_bytes,
            multipart_chunksize=self.part_bytes,
            max_concurrency=2,
        )
        # s3transfer's own setting (boto3's constructor does not take it): parts held in memory.
        config.max_in_memory_upload_chunks = 2
        with translated(f"upload {key}"):
            self.client.upload_fileobj(
                stream,  # type: ignore[arg-type]
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=config,
            )
        return self.head(key)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            with translated(f"delete {len(batch)} objects"):
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with translated(f"list {prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(str(obj["Key"]) for obj in page.get("Contents", []))
        return keys
