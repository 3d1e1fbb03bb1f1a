"""Object bodies of the embedded S3 as immutable files, written from a stream and read by range.

A body is a list of segments (files that never change once written): a PUT writes one, a
completed multipart upload keeps its parts as they are, so completing costs the same for 1 KiB
and 1 GiB, and a ranged GET opens and reads only the segments its range touches. Bodies are read
and written in :data:`CHUNK` pieces, so memory does not grow with object size.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from io import BufferedIOBase, BufferedReader
from pathlib import Path

#: Bytes read or written at a time.
CHUNK = 1024 * 1024


class BodyRefused(Exception):
    """The body does not match what the request declared; ``code`` is S3's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Segment:
    """One immutable file of a body: its name in the blob directory and its size."""

    name: str
    size: int


@dataclass(frozen=True)
class Written:
    segment: Segment
    md5_hex: str


@dataclass(frozen=True)
class Expected:
    """What the request declared of its body, checked as it is read (None: not declared)."""

    length: int
    sha256_hex: str | None = None  #: x-amz-content-sha256 of a header-signed request
    md5_b64: str | None = None  #: Content-MD5
    checksum_sha256_b64: str | None = None  #: x-amz-checksum-sha256
    checksum_crc32_b64: str | None = None  #: x-amz-checksum-crc32


class _Digests:
    def __init__(self, expected: Expected) -> None:
        self.expected = expected
        self.md5 = hashlib.md5(usedforsecurity=False)
        wants_sha = expected.sha256_hex or expected.checksum_sha256_b64
        self.sha256 = hashlib.sha256() if wants_sha else None
        self.crc32 = 0 if expected.checksum_crc32_b64 else None

    def update(self, chunk: bytes | memoryview) -> None:
        self.md5.update(chunk)
        if self.sha256 is not None:
            self.sha256.update(chunk)
        if self.crc32 is not None:
            self.crc32 = zlib.crc32(chunk, self.crc32)

    def check(self) -> None:
        e = self.expected
        if e.sha256_hex and self.sha256 and self.sha256.hexdigest() != e.sha256_hex:
            raise BodyRefused(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        if e.md5_b64 and base64.b64encode(self.md5.digest()).decode() != e.md5_b64:
            raise BodyRefused("BadDigest", "The Content-MD5 you specified did not match.")
        if (
            e.checksum_sha256_b64
            and self.sha256 is not None
            and (base64.b64encode(self.sha256.digest()).decode() != e.checksum_sha256_b64)
        ):
            raise BodyRefused(
                "BadDigest", "The SHA256 you specified did not match the calculated checksum."
            )
        if (
            e.checksum_crc32_b64
            and self.crc32 is not None
            and (base64.b64encode(self.crc32.to_bytes(4, "big")).decode() != e.checksum_crc32_b64)
        ):
            raise BodyRefused(
                "BadDigest", "The CRC32 you specified did not match the calculated checksum."
            )


def _stream(opened: list[tuple[BufferedReader, int]]) -> Iterator[memoryview]:
    """The ranges of ``opened``, through one buffer: each chunk is valid until the next."""
    buffer = memoryview(bytearray(min(CHUNK, max((n for _, n in opened), default=1))))
    try:
        for file, remaining in opened:
            while remaining > 0:
                got = file.readinto(buffer[: min(len(buffer), remaining)])
                if not got:
                    raise OSError(f"{file.name} is shorter than recorded")
                remaining -= got
                yield buffer[:got]
    finally:
        for file, _ in opened:
            file.close()


class BlobFiles:
    """The segment files of one bucket: ``name`` is a path under ``root`` (new bodies are
    written to ``blobs/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def _new_name(self) -> str:
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        return f"blobs/{uuid.uuid4().hex}"

    def write(self, stream: BufferedIOBase, expected: Expected) -> Written:
        """Read exactly ``expected.length`` bytes of ``stream`` into a new segment, checking the
        declared digests; nothing is left behind when a check fails or the stream ends early."""
        name = self._new_name()
        digests = _Digests(expected)
        remaining = expected.length
        path = self.path(name)
        buffer = memoryview(bytearray(min(CHUNK, max(remaining, 1))))
        try:
            with path.open("xb") as file:
                while remaining > 0:
                    got = stream.readinto(buffer[: min(len(buffer), remaining)])
                    if not got:
                        raise BodyRefused(
                            "IncompleteBody",
                            "You did not provide the number of bytes specified by the "
                            "Content-Length HTTP header.",
                        )
                    remaining -= got
                    digests.update(buffer[:got])
                    file.write(buffer[:got])
            digests.check()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Written(Segment(name, expected.length), digests.md5.hexdigest())

    def write_chunks(self, chunks: Iterable[memoryview], length: int) -> Written:
        """A new segment holding ``chunks`` (``length`` bytes in all, e.g. a range of another
        body)."""
        name = self._new_name()
        md5 = hashlib.md5(usedforsecurity=False)
        path = self.path(name)
        try:
            with path.open("xb") as file:
                for chunk in chunks:
                    md5.update(chunk)
                    file.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Written(Segment(name, length), md5.hexdigest())

    def link_from(self, source: BlobFiles, segments: Sequence[Segment]) -> list[Segment]:
        """New names here for the bytes of ``source``'s segments (hard links: a copy without
        copying)."""
        linked = []
        try:
            for segment in segments:
                name = self._new_name()
                os.link(source.path(segment.name), self.path(name))
                linked.append(Segment(name, segment.size))
        except BaseException:
            self.remove(linked)
            raise
        return linked

    def read(self, segments: Sequence[Segment], start: int, end: int) -> Iterator[memoryview]:
        """Bytes ``start..end`` (inclusive) of the body made of ``segments``, in chunks. Only the
        segments the range touches are opened, all of them before this returns, so a body
        replaced or deleted meanwhile is still read whole (open files outlive their names)."""
        opened: list[tuple[BufferedReader, int]] = []
        offset = 0
        try:
            for segment in segments:
                first, last = offset, offset + segment.size - 1
                offset += segment.size
                if last < start or first > end or segment.size == 0:
                    continue
                opened_file = self.path(segment.name).open("rb")
                opened_file.seek(max(start - first, 0))
                opened.append((opened_file, min(end, last) - max(start, first) + 1))
        except BaseException:
            for file, _ in opened:
                file.close()
            raise
        return _stream(opened)

    def remove(self, segments: Sequence[Segment]) -> None:
        for segment in segments:
            self.path(segment.name).unlink(missing_ok=True)

    def damage(self, segments: Sequence[Segment]) -> str | None:
        """Why the body cannot be served (a segment missing or of another size), or None."""
        for segment in segments:
            try:
                size = self.path(segment.name).stat().st_size
            except OSError as e:
                return f"its data file cannot be read ({e.strerror or e})"
            if size != segment.size:
                return "its data file does not match the size recorded when it was stored"
        return None
