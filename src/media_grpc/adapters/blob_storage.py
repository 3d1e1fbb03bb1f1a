"""The blob storage port: what the service needs of an S3-compatible bucket."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from media_grpc.domain.errors import Unavailable


class BlobNotFound(Exception):
    """No object (or multipart upload) at that key."""


class BlobStorageUnavailable(Unavailable):
    """Storage did not answer or answered with a server error.

    A domain ``Unavailable``, so that callers (and api/errors.py) need not know the adapter:
    the client reads a fixed message, logs and reports read ``detail`` (the driver's words).
    """

    def __init__(self, detail: str) -> None:
        super().__init__("object storage is unavailable; retry")
        self.detail = detail

    def __str__(self) -> str:
        return f"object storage is unavailable: {self.detail}"


@dataclass(frozen=True)
class PresignedRequest:
    """A request a client sends as is: the URL and the exact headers that were signed."""

    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    content_type: str
    version_id: str | None = None


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    etag: str
    size: int


class BlobStorage(abc.ABC):
    """An S3-compatible bucket. Implementations translate driver errors to the two above."""

    @abc.abstractmethod
    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        sha256_b64: str | None,
        expires_in: int,
    ) -> PresignedRequest: ...

    @abc.abstractmethod
    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        """Start a multipart upload; returns its upload id."""

    @abc.abstractmethod
    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedRequest:
        """A PUT for one part; with ``content_length``, storage refuses a part of another size."""

    @abc.abstractmethod
    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]: ...

    @abc.abstractmethod
    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None: ...

    @abc.abstractmethod
    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort; an upload that is already gone is not an error."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        """Bytes ``start..end`` inclusive; with ``etag``, only from that exact content."""

    @abc.abstractmethod
    def download(self, key: str, path: Path, *, etag: str | None = None) -> None: ...

    @abc.abstractmethod
    def upload_file(
        self, path: Path, key: str, *, content_type: str, cache_control: str
    ) -> None: ...

    @abc.abstractmethod
    def delete(self, keys: list[str]) -> None:
        """Delete objects; missing ones are not an error."""

    @abc.abstractmethod
    def list_keys(self, prefix: str) -> list[str]: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        keys = self.list_keys(prefix)
        if keys:
            self.delete(keys)
        return len(keys)
