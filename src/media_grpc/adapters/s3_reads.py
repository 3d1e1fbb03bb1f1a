"""Reading objects: HEAD, ranged GETs (the completion's one-request read), downloads and
streamed reads."""

from __future__ import annotations

import shutil
from pathlib import Path

from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError

from media_grpc.adapters.blob_storage import (
    BlobNotFound,
    BlobStorageUnavailable,
    ChunkSink,
    ObjectInfo,
)
from media_grpc.adapters.s3_client import S3Bucket
from media_grpc.adapters.s3_errors import translated

#: Bytes per read when streaming an object to a file.
DOWNLOAD_CHUNK = 1024 * 1024


def _total_size(content_range: str, received: int) -> int:
    """The object's size from ``bytes 0-99/1234``; what was received when there is none."""
    return int(content_range.rsplit("/", 1)[1]) if "/" in content_range else received


class S3Reads(S3Bucket):
    def head(self, key: str) -> ObjectInfo:
        with translated(f"head {key}"):
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(
            size=int(answer["ContentLength"]),
            etag=str(answer["ETag"]),
            content_type=str(answer.get("ContentType", "")),
            version_id=answer.get("VersionId"),
        )

    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        extra = {"IfMatch": etag} if etag else {}
        with translated(f"read {key}"):
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
            with translated(f"read {key}"):
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
        self, key: str, path: Path, *, etag: str | None = None, on_chunk: ChunkSink | None = None
    ) -> None:
        # download_file refuses IfMatch: one pinned GET, streamed to the file.
        extra = {"IfMatch": etag} if etag else {}
        with translated(f"download {key}"):
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            with path.open("wb") as file:
                if on_chunk is None:
                    shutil.copyfileobj(answer["Body"], file, DOWNLOAD_CHUNK)
                    return
                while chunk := answer["Body"].read(DOWNLOAD_CHUNK):
                    on_chunk(chunk)
                    file.write(chunk)

    def read_chunks(self, key: str, on_chunk: ChunkSink, *, etag: str | None = None) -> None:
        extra = {"IfMatch": etag} if etag else {}
        with translated(f"read {key}"):
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            while chunk := answer["Body"].read(DOWNLOAD_CHUNK):
                on_chunk(chunk)
