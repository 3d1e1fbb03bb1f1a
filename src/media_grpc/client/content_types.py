"""The content type a file is declared with, checked against the file's real type before any
byte is sent (the service's own sniffing: what CompleteUpload would refuse is refused here)."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from pathlib import Path

from media_grpc.client.media_client import ClientError
from media_grpc.domain.sniffing import SNIFF_BYTES, describe, same_format, sniff

log = logging.getLogger("media_grpc.client")

#: Bytes read at once while hashing (hashlib releases the GIL on buffers this large).
HASH_CHUNK = 1024 * 1024

#: MIME types Python's mimetypes may not know.
EXTRA_TYPES = {
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
}


def guess_content_type(path: Path) -> str:
    return (
        EXTRA_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def declared_type(path: Path, given: str | None) -> str:
    """The type to declare for ``path``: ``given``, else the type its name says when the bytes
    agree, else the type the bytes are. ClientError, before anything is sent, when the bytes
    are no image or video format the service knows, or are another format than ``given``."""
    with path.open("rb") as f:
        return _type_of(path, f.read(SNIFF_BYTES), given)


def declared_type_and_sha256(path: Path, given: str | None) -> tuple[str, str]:
    """:func:`declared_type` and the file's hex sha256, in one read: the head is sniffed first
    (a file the service would refuse is refused before the rest is read), then the same read
    goes on to the end for the hash, declared to CreateUploadSession (the dedupe match)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
        content_type = _type_of(path, head, given)
        digest.update(head)
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return content_type, digest.hexdigest()


def _type_of(path: Path, head: bytes, given: str | None) -> str:
    real = sniff(head)
    if real is None:
        raise ClientError(
            f"{path.name} is not an image or video the service takes (it starts "
            f"{describe(head)}); nothing was sent"
        )
    if given is not None:
        if not same_format(given.split(";", 1)[0].strip().lower(), real):
            raise ClientError(
                f"{path.name} is {real}, not {given}: declare it as {real} (or leave "
                "--content-type out); nothing was sent"
            )
        return given
    named = guess_content_type(path)
    if same_format(named, real):
        return named
    log.warning("%s is %s whatever its name says; declaring %s", path.name, real, real)
    return real
