"""What the embedded S3 records of a bucket, an object and a multipart upload, as JSON files.

Layout under the data directory (one directory per bucket, named by the SHA-256 of its name):

- ``<bucket>/bucket.json``: the name and the bodies of the requests that configured it
  (creation, ``cors``, ``policy``, ``lifecycle``, ...), base64;
- ``<bucket>/objects/<sha256 of key>.json``: key, size, ETag, storage class, metadata and the
  segments (files under ``<bucket>/blobs/``) that hold the body, in order;
- ``<bucket>/uploads/<upload id>.json``: a multipart upload in progress and its parts.

Objects kept by earlier versions (a moto mirror: one ``<sha256 of key>.data`` beside the JSON,
no segment list) are read as one segment. Every JSON file is written to a temporary file and
renamed into place, so a crash leaves the old or the new record, never half of one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from media_grpc.embedded.blob_files import Segment

#: Headers kept with an object and answered on GET and HEAD, besides ``x-amz-meta-*``.
STORED_HEADERS = {
    "content-type": "Content-Type",
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
}


def kept_headers(metadata: dict[str, str]) -> dict[str, str]:
    """An object's headers by their usual names: the stored ones and ``x-amz-meta-*`` (a moto
    mirror's record has them in lower case, with request headers besides)."""
    kept = {}
    for name, value in metadata.items():
        lower = name.lower()
        if lower in STORED_HEADERS:
            kept[STORED_HEADERS[lower]] = value
        elif lower.startswith("x-amz-meta-"):
            kept[lower] = value
    return kept


def file_name(name: str) -> str:
    """The file or directory name of a bucket or key (any key, ``../`` included, is safe)."""
    return hashlib.sha256(name.encode()).hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class StoredObject:
    """An object: ``metadata`` holds its HTTP headers (Content-Type, x-amz-meta-*, ...)."""

    key: str
    size: int
    etag: str  #: without quotes
    segments: list[Segment]
    metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    last_modified: datetime = field(default_factory=now)
    restore_until: datetime | None = None  #: a restored copy of an archived object

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "key": self.key,
                "size": self.size,
                "etag": self.etag,
                "segments": [[s.name, s.size] for s in self.segments],
                "metadata": self.metadata,
                "storage_class": self.storage_class,
                "last_modified": self.last_modified.isoformat(),
                "restore_until": self.restore_until.isoformat() if self.restore_until else None,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: dict[str, Any], record: Path) -> StoredObject:
        if "segments" in data:
            segments = [Segment(str(n), int(s)) for n, s in data["segments"]]
        else:  # a moto mirror's object: its body beside the record
            segments = [Segment(f"objects/{record.stem}.data", int(data["size"]))]
        modified = data.get("last_modified")
        restore = data.get("restore_until")
        return cls(
            key=str(data["key"]),
            size=int(data["size"]),
            etag=str(data["etag"]).strip('"'),
            segments=segments,
            metadata=kept_headers(
                {str(k): str(v) for k, v in dict(data.get("metadata", {})).items()}
            ),
            storage_class=str(data.get("storage_class") or "STANDARD"),
            last_modified=(
                datetime.fromisoformat(modified)
                if modified
                else datetime.fromtimestamp(record.stat().st_mtime, UTC).replace(microsecond=0)
            ),
            restore_until=datetime.fromisoformat(restore) if restore else None,
        )


@dataclass
class StoredPart:
    number: int
    etag: str  #: without quotes
    segment: Segment
    last_modified: datetime = field(default_factory=now)


@dataclass
class StoredUpload:
    """A multipart upload in progress."""

    upload_id: str
    key: str
    metadata: dict[str, str]
    storage_class: str
    initiated: datetime = field(default_factory=now)
    parts: dict[int, StoredPart] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "upload_id": self.upload_id,
                "key": self.key,
                "metadata": self.metadata,
                "storage_class": self.storage_class,
                "initiated": self.initiated.isoformat(),
                "parts": [
                    [p.number, p.etag, p.segment.name, p.segment.size, p.last_modified.isoformat()]
                    for p in self.parts.values()
                ],
            }
        ).encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredUpload:
        parts = {
            int(n): StoredPart(int(n), str(e), Segment(str(name), int(size)), _date(str(m)))
            for n, e, name, size, m in data["parts"]
        }
        return cls(
            upload_id=str(data["upload_id"]),
            key=str(data["key"]),
            metadata=dict(data["metadata"]),
            storage_class=str(data["storage_class"]),
            initiated=_date(str(data["initiated"])),
            parts=parts,
        )


def _date(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class StoredBucket:
    """A bucket: ``config`` maps a subresource (``""`` for the creation) to its request body."""

    name: str
    config: dict[str, bytes] = field(default_factory=dict)
    created: datetime = field(default_factory=now)

    def to_json(self) -> bytes:
        requests = {k: base64.b64encode(v).decode() for k, v in self.config.items()}
        return json.dumps(
            {"name": self.name, "requests": requests, "created": self.created.isoformat()}
        ).encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredBucket:
        config = {str(k): base64.b64decode(v) for k, v in dict(data["requests"]).items()}
        created = data.get("created")
        return cls(str(data["name"]), config, _date(created) if created else now())
