"""The blob storage port: what the service needs of an S3-compatible bucket."""

from __future__ import annotations

import abc
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from media_grpc.domain.errors import Unavailable

#: Sees every chunk of a download as it is written (e.g. to hash it).
ChunkSink = Callable[[bytes], None]


class Readable(Protocol):
    """What ``upload_stream`` reads: ``read(n)`` returns ``n`` bytes, fewer only at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


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
class Availability:
    """Whether an object can be read now, or sits in an archive storage class."""

    #: The object's storage class as storage reports it ("STANDARD" when it says nothing).
    storage_class: str
    #: False while the object is archived and no restored copy is readable.
    readable: bool
    #: A restore was asked for and has not finished yet.
    restoring: bool = False


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
    ) -> str:
        """Assemble ``parts`` (number, ETag); returns the assembled object's ETag."""

    @abc.abstractmethod
    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort; an upload that is already gone is not an error."""

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        """Bytes ``start..end`` inclusive; with ``etag``, only from that exact content."""

    def read_start(self, key: str, length: int) -> tuple[ObjectInfo, bytes]:
        """The object's size, ETag, type and version with its first ``length`` bytes.

        Two constant-size requests here (a HEAD, then a ranged GET pinned to its ETag);
        implementations answer both with one ranged GET where storage allows.
        """
        info = self.head(key)
        if info.size == 0:
            return info, b""
        return info, self.read_range(key, 0, min(length, info.size) - 1, etag=info.etag)

    @abc.abstractmethod
    def download(
        self, key: str, path: Path, *, etag: str | None = None, on_chunk: ChunkSink | None = None
    ) -> None:
        """Stream the object to ``path``; ``on_chunk`` sees every chunk (e.g. to hash it)."""

    def read_chunks(self, key: str, on_chunk: ChunkSink, *, etag: str | None = None) -> None:
        """Hand every chunk of the object to ``on_chunk``, keeping nothing; with ``etag``, only
        from that exact content (BlobNotFound otherwise, as for a missing object).

        This default downloads to a temporary directory it deletes; S3 streams without a file.
        """
        with tempfile.TemporaryDirectory(prefix="media-read-") as tmp:
            self.download(key, Path(tmp) / "object", etag=etag, on_chunk=on_chunk)

    @abc.abstractmethod
    def copy(self, source: str, target: str, *, pinned: ObjectInfo) -> None:
        """Copy inside the bucket, without the bytes passing through us, only from the
        content ``pinned`` names (its ETag, and its version where the bucket keeps versions),
        stored under its content type: BlobNotFound when the source is gone or holds other
        content."""

    @abc.abstractmethod
    def upload_file(
        self, path: Path, key: str, *, content_type: str, cache_control: str
    ) -> None: ...

    @abc.abstractmethod
    def delete(self, keys: list[str]) -> None:
        """Delete objects; missing ones are not an error."""

    @abc.abstractmethod
    def list_keys(self, prefix: str) -> list[str]: ...

    def upload_stream(self, stream: Readable, key: str, *, content_type: str) -> ObjectInfo:
        """Store everything ``stream.read()`` returns under ``key`` and describe what was stored.

        An exception raised by the stream leaves nothing at ``key``. This default spools to a
        temporary file; S3 streams it in parts without touching the disk.
        """
        with tempfile.NamedTemporaryFile(prefix="media-import-") as spool:
            shutil.copyfileobj(stream, spool, 1024 * 1024)
            spool.flush()
            self.upload_file(Path(spool.name), key, content_type=content_type, cache_control="")
        return self.head(key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        keys = self.list_keys(prefix)
        if keys:
            self.delete(keys)
        return len(keys)

    def presign_get(self, key: str, *, expires_in: int) -> str:
        """A URL that reads the object for ``expires_in`` seconds (private objects included)."""
        raise NotImplementedError(f"{type(self).__name__} cannot presign a GET")

    def availability(self, key: str) -> Availability:
        """Whether ``key`` can be read now; storage without archive classes always can."""
        return Availability(storage_class="STANDARD", readable=True)

    def request_restore(self, key: str, *, days: int) -> bool:
        """Ask storage to restore an archived object for ``days``; False where not supported."""
        return False
