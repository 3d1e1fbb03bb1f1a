"""BlobStorage over boto3 (S3, R2, MinIO, the moto server)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media_grpc.adapters.blob_storage import (
    ARCHIVE_CLASSES,
    Availability,
    BlobNotFound,
    BlobStorage,
    BlobStorageUnavailable,
    ObjectInfo,
    PresignedRequest,
    Readable,
    StoredPart,
)
from media_grpc.adapters.sigv4_presigner import SigV4Presigner

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NoSuchUpload", "NotFound", "NoSuchBucket"}
_PRECONDITION_CODES = {"412", "PreconditionFailed"}
#: Bytes per read when streaming an object to a file.
DOWNLOAD_CHUNK = 1024 * 1024
#: Largest object one CopyObject may copy; above it, UploadPartCopy (S3's limit).
COPY_OBJECT_LIMIT = 5 * 1024**3
#: Bytes per UploadPartCopy part (S3 allows 5 MiB to 5 GiB, at most 10,000 parts).
COPY_PART_BYTES = 512 * 1024**2


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """boto3 errors end here: 404s become BlobNotFound, the rest BlobStorageUnavailable."""
    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND_CODES or code in _PRECONDITION_CODES:
            raise BlobNotFound(f"{what}: {code}") from None
        raise BlobStorageUnavailable(f"{what}: {code or e}") from None
    except BotoCoreError as e:
        raise BlobStorageUnavailable(f"{what}: {e}") from None


def _total_size(content_range: str, received: int) -> int:
    """The object's size from ``bytes 0-99/1234``; what was received when there is none."""
    return int(content_range.rsplit("/", 1)[1]) if "/" in content_range else received


def build_s3_client(
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    addressing_style: str,
) -> Any:
    """A client that presigns with SigV4 and retries throttling (standard retry mode)."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},  # type: ignore[arg-type,typeddict-item]
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=50,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


def _presigner(client: Any, bucket: str) -> SigV4Presigner | None:
    """The fast presigner, or None (botocore presigns) for a client without credentials or
    not signing with SigV4."""
    signer = getattr(client, "_request_signer", None)
    if getattr(signer, "_credentials", None) is None:
        return None
    if client.meta.config.signature_version not in ("s3v4", "v4"):
        return None
    return SigV4Presigner(client, bucket)


class S3BlobStorage(BlobStorage):
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

        self.presigner = _presigner(client, bucket)

    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        sha256_b64: str | None,
        expires_in: int,
    ) -> PresignedRequest:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": content_length,
        }
        headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
        if sha256_b64:
            params["ChecksumSHA256"] = sha256_b64
            headers["x-amz-checksum-sha256"] = sha256_b64
        if self.presigner is not None:
            url = self.presigner.presign("PUT", key, expires_in=expires_in, headers=headers)
            return PresignedRequest(url=url, headers=headers)
        url = self._presign("put_object", params, expires_in)
        return PresignedRequest(url=url, headers=headers)

    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        with _translated(f"create multipart upload {key}"):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        return str(answer["UploadId"])

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedRequest:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        headers = {}
        if content_length is not None:
            params["ContentLength"] = content_length
            headers["Content-Length"] = str(content_length)
        if self.presigner is not None:
            query = {"partNumber": str(part_number), "uploadId": upload_id}
            url = self.presigner.presign(
                "PUT", key, expires_in=expires_in, headers=headers, query=query
            )
            return PresignedRequest(url=url, headers=headers)
        url = self._presign("upload_part", params, expires_in)
        return PresignedRequest(url=url, headers=headers)

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        marker = 0
        with _translated(f"list parts of {key}"):
            while True:
                answer = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
                parts.extend(
                    StoredPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                    for p in answer.get("Parts", [])
                )
                if not answer.get("IsTruncated"):
                    return parts
                marker = int(answer["NextPartNumberMarker"])

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        with _translated(f"complete multipart upload {key}"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]
                },
            )

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        try:
            with _translated(f"abort multipart upload {key}"):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except BlobNotFound:
            return

    def head(self, key: str) -> ObjectInfo:
        with _translated(f"head {key}"):
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(
            size=int(answer["ContentLength"]),
            etag=str(answer["ETag"]),
            content_type=str(answer.get("ContentType", "")),
            version_id=answer.get("VersionId"),
        )

    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        extra = {"IfMatch": etag} if etag else {}
        with _translated(f"read {key}"):
            answer = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}", **extra
            )
            return bytes(answer["Body"].read())

    def read_start(self, key: str, length: int) -> tuple[ObjectInfo, bytes]:
        """One ranged GET: its Content-Range names the whole size, its headers the rest."""
        if self.presigner is not None:
            found = self._read_start_direct(key, length)
            if found is not None:
                return found
        try:
            with _translated(f"read {key}"):
                answer = self.client.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}"
                )
                data = bytes(answer["Body"].read())
        except BlobStorageUnavailable as e:
            if "InvalidRange" in str(e):  # an empty object has no byte 0
                return self.head(key), b""
            raise
        info = ObjectInfo(
            size=_total_size(str(answer.get("ContentRange") or ""), len(data)),
            etag=str(answer["ETag"]),
            content_type=str(answer.get("ContentType", "")),
            version_id=answer.get("VersionId"),
        )
        return info, data

    def _read_start_direct(self, key: str, length: int) -> tuple[ObjectInfo, bytes] | None:
        """The ranged GET signed in its headers by the SigV4 presigner and sent through
        botocore's own HTTP session (its connection pool, TLS and proxy settings), without
        botocore's per-request machinery (serialising, event hooks, parsing: half a
        millisecond of CPU, more than the request itself). It answers the object and a 404;
        anything else (an error status, the 416 of an empty object, a failed connection)
        returns None, and the boto3 request, which retries and translates as every other call
        does, asks again.
        """
        assert self.presigner is not None
        url, headers = self.presigner.sign("GET", key)
        headers["Range"] = f"bytes=0-{length - 1}"
        request = AWSRequest(method="GET", url=url, headers=headers)
        try:
            answer = self.client._endpoint.http_session.send(request.prepare())
        except BotoCoreError:
            return None
        headers = answer.headers
        status = answer.status_code
        declared = headers.get("Content-Length")
        if status not in (200, 206, 404) or (
            status == 200 and (declared is None or int(declared) > length)
        ):
            answer.raw.close()  # not read: a store ignoring Range would send the whole object
            return None
        data = answer.content  # reads the body, which frees the connection for the pool
        if status == 404:
            raise BlobNotFound(f"read {key}: 404")
        info = ObjectInfo(
            size=_total_size(str(headers.get("Content-Range") or ""), len(data)),
            etag=str(headers.get("ETag", "")),
            content_type=str(headers.get("Content-Type", "")),
            version_id=headers.get("x-amz-version-id"),
        )
        return info, bytes(data)

    def download(
        self,
        key: str,
        path: Path,
        *,
        etag: str | None = None,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> None:
        # download_file refuses IfMatch: one pinned GET, streamed to the file.
        extra = {"IfMatch": etag} if etag else {}
        with _translated(f"download {key}"):
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            with path.open("wb") as file:
                if on_chunk is None:
                    shutil.copyfileobj(answer["Body"], file, DOWNLOAD_CHUNK)
                    return
                while chunk := answer["Body"].read(DOWNLOAD_CHUNK):
                    on_chunk(chunk)
                    file.write(chunk)

    def copy(
        self,
        source: str,
        target: str,
        *,
        etag: str,
        version_id: str | None,
        size: int,
        content_type: str,
    ) -> None:
        copy_source = {"Bucket": self.bucket, "Key": source}
        if version_id:
            copy_source["VersionId"] = version_id
        with _translated(f"copy {source}"):
            # Some S3-compatible stores (moto among them) ignore x-amz-copy-source-if-match:
            # a pinned HEAD first leaves them only the milliseconds between the two requests.
            pinned = {"VersionId": version_id} if version_id else {}
            self.client.head_object(Bucket=self.bucket, Key=source, IfMatch=etag, **pinned)
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
            with _translated(f"copy {copy_source['Key']} in parts"):
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
        with _translated(f"upload {key}"):
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
        with _translated(f"upload {key}"):
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
            with _translated(f"delete {len(batch)} objects"):
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated(f"list {prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(str(obj["Key"]) for obj in page.get("Contents", []))
        return keys

    def presign_get(self, key: str, *, expires_in: int) -> str:
        presign: Callable[..., str] = self.client.generate_presigned_url
        with _translated(f"presign get {key}"):
            return presign(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_in,
                HttpMethod="GET",
            )

    def availability(self, key: str) -> Availability:
        with _translated(f"head {key}"):
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        storage_class = str(answer.get("StorageClass") or "STANDARD")
        if storage_class not in ARCHIVE_CLASSES:
            return Availability(storage_class, readable=True)
        restore = str(answer.get("Restore") or "")
        restoring = 'ongoing-request="true"' in restore
        restored = 'ongoing-request="false"' in restore
        return Availability(storage_class, readable=restored, restoring=restoring)

    def request_restore(self, key: str, *, days: int) -> bool:
        try:
            self.client.restore_object(Bucket=self.bucket, Key=key, RestoreRequest={"Days": days})
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code == "RestoreAlreadyInProgress":
                return True
            if code in _NOT_FOUND_CODES:
                raise BlobNotFound(f"restore {key}: {code}") from None
            return False  # a store without RestoreObject, or an object it cannot restore
        except BotoCoreError as e:
            raise BlobStorageUnavailable(f"restore {key}: {e}") from None
        return True

    def _presign(self, operation: str, params: dict[str, Any], expires_in: int) -> str:
        presign: Callable[..., str] = self.client.generate_presigned_url
        with _translated(f"presign {operation}"):
            return presign(operation, Params=params, ExpiresIn=expires_in, HttpMethod="PUT")
