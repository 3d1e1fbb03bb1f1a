"""One request to the embedded S3 and its answer, free of HTTP plumbing, so operations are plain
functions from a :class:`S3Request` to an :class:`S3Response`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from io import BufferedIOBase

from media_grpc.embedded.blob_files import Expected
from media_grpc.embedded.s3_errors import S3Error
from media_grpc.embedded.s3_records import STORED_HEADERS, StoredObject
from media_grpc.embedded.s3_xml import MAX_XML_BYTES

STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "GLACIER_IR",
        "DEEP_ARCHIVE",
    }
)


@dataclass
class S3Request:
    """A request whose signature (or anonymous access) was already checked.

    ``headers`` have lower-case names; ``payload_sha256`` is the signed body hash to verify
    (None: unsigned payload).
    """

    method: str
    bucket: str
    key: str
    query: dict[str, str]
    headers: dict[str, str]
    body: BufferedIOBase
    length: int
    payload_sha256: str | None = None
    consumed: bool = False  #: whether the body was read

    def expected(self) -> Expected:
        return Expected(
            length=self.length,
            sha256_hex=self.payload_sha256,
            md5_b64=self.headers.get("content-md5"),
            checksum_sha256_b64=self.headers.get("x-amz-checksum-sha256"),
            checksum_crc32_b64=self.headers.get("x-amz-checksum-crc32"),
        )

    def read_small_body(self) -> bytes:
        """The whole body of a configuration or XML request (at most :data:`MAX_XML_BYTES`),
        checked against its signed SHA-256."""
        if self.length > MAX_XML_BYTES:
            raise S3Error(400, "EntityTooLarge", "The request body is too large")
        self.consumed = True
        body = self.body.read(self.length) if self.length else b""
        if len(body) != self.length:
            raise S3Error(400, "IncompleteBody", "The request body ended early")
        if self.payload_sha256 and hashlib.sha256(body).hexdigest() != self.payload_sha256:
            raise S3Error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        return body

    def stored_headers(self) -> dict[str, str]:
        kept = {
            STORED_HEADERS[name]: value
            for name, value in self.headers.items()
            if name in STORED_HEADERS
        }
        kept.setdefault("Content-Type", "binary/octet-stream")
        kept.update(
            {name: value for name, value in self.headers.items() if name.startswith("x-amz-meta-")}
        )
        return kept

    def storage_class(self) -> str:
        wanted = self.headers.get("x-amz-storage-class", "STANDARD")
        if wanted not in STORAGE_CLASSES:
            raise S3Error(
                400, "InvalidStorageClass", "The storage class you specified is not valid"
            )
        return wanted


@dataclass
class S3Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterator[memoryview] = b""
    length: int | None = None  #: of an iterated body

    @classmethod
    def xml(cls, body: bytes, status: int = 200) -> S3Response:
        return cls(status, {"Content-Type": "application/xml"}, body)


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def object_headers(stored: StoredObject) -> dict[str, str]:
    """The headers GET and HEAD answer for ``stored``."""
    headers = dict(stored.metadata)
    headers.setdefault("Content-Type", "binary/octet-stream")
    headers["ETag"] = f'"{stored.etag}"'
    headers["Last-Modified"] = http_date(stored.last_modified)
    headers["Accept-Ranges"] = "bytes"
    if stored.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = stored.storage_class
    if stored.restore_until is not None:
        headers["x-amz-restore"] = (
            f'ongoing-request="false", expiry-date="{http_date(stored.restore_until)}"'
        )
    return headers
