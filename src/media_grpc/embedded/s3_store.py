"""The embedded S3's buckets and objects, held on disk (see :mod:`s3_records` for the layout).

Records (names, sizes, ETags, metadata) are also indexed in memory, a few hundred bytes per
object; bodies never are. One lock orders changes to the records; bodies are written before
the lock is taken and read after it is released (their files are opened under it).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from io import BufferedIOBase
from pathlib import Path

from media_grpc.embedded.blob_files import BlobFiles, Expected
from media_grpc.embedded.s3_errors import S3Error, no_such_bucket, no_such_key
from media_grpc.embedded.s3_records import (
    StoredBucket,
    StoredObject,
    file_name,
    now,
    write_atomically,
)

log = logging.getLogger(__name__)

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Storage classes whose objects must be restored before they are read.
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})


@dataclass(frozen=True)
class LostObject:
    """An object on disk that could not be restored, and why."""

    bucket: str
    key: str
    reason: str


@dataclass
class RestoreReport:
    buckets: int = 0
    objects: int = 0
    lost: list[LostObject] = field(default_factory=list)


@dataclass
class Listing:
    objects: list[StoredObject]
    prefixes: list[str]
    truncated: bool
    next_marker: str | None


class Bucket:
    """One bucket's directory, its configuration and the index of its objects."""

    def __init__(self, directory: Path, record: StoredBucket) -> None:
        self.directory = directory
        self.record = record
        self.blobs = BlobFiles(directory)
        self.objects: dict[str, StoredObject] = {}

    @property
    def name(self) -> str:
        return self.record.name

    def object_path(self, key: str) -> Path:
        return self.directory / "objects" / f"{file_name(key)}.json"

    def save(self) -> None:
        write_atomically(self.directory / "bucket.json", self.record.to_json())


class S3Store:
    """Buckets and objects under ``root``; :meth:`load` reads back what is there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self.buckets: dict[str, Bucket] = {}

    # Buckets -----------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket:
        found = self.buckets.get(name)
        if found is None:
            raise no_such_bucket(name)
        return found

    def create_bucket(self, name: str, body: bytes) -> None:
        if not _BUCKET_NAME.match(name) or ".." in name:
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.")
        with self.lock:
            if name in self.buckets:
                raise S3Error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you "
                    "already own it.",
                )
            bucket = Bucket(self.root / file_name(name), StoredBucket(name, {"": body}))
            bucket.save()
            self.buckets[name] = bucket

    def delete_bucket(self, name: str) -> None:
        with self.lock:
            bucket = self.bucket(name)
            if bucket.objects:
                raise S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
            del self.buckets[name]
            shutil.rmtree(bucket.directory, ignore_errors=True)

    def put_config(self, name: str, subresource: str, body: bytes) -> None:
        with self.lock:
            bucket = self.bucket(name)
            bucket.record.config[subresource] = body
            bucket.save()

    def config(self, name: str, subresource: str) -> bytes | None:
        with self.lock:
            return self.bucket(name).record.config.get(subresource)

    def delete_config(self, name: str, subresource: str) -> None:
        with self.lock:
            bucket = self.bucket(name)
            bucket.record.config.pop(subresource, None)
            bucket.save()

    # Objects -----------------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> StoredObject:
        with self.lock:
            found = self.bucket(bucket).objects.get(key)
        if found is None:
            raise no_such_key(key)
        return found

    def put(
        self,
        bucket: str,
        key: str,
        body: BufferedIOBase,
        expected: Expected,
        metadata: dict[str, str],
        storage_class: str,
    ) -> StoredObject:
        blobs = self.bucket(bucket).blobs
        written = blobs.write(body, expected)
        stored = StoredObject(
            key, expected.length, written.md5_hex, [written.segment], metadata, storage_class
        )
        try:
            self.commit(bucket, stored)
        except BaseException:
            blobs.remove([written.segment])
            raise
        return stored

    def commit(self, bucket_name: str, stored: StoredObject) -> None:
        """Make ``stored`` (its segments written) the object at its key; the body it replaces
        is removed."""
        with self.lock:
            bucket = self.bucket(bucket_name)
            write_atomically(bucket.object_path(stored.key), stored.to_json())
            replaced = bucket.objects.get(stored.key)
            bucket.objects[stored.key] = stored
            if replaced is not None:
                bucket.blobs.remove(replaced.segments)

    def read(
        self, bucket: str, key: str, start: int, end: int
    ) -> tuple[StoredObject, Iterator[memoryview]]:
        """The object and bytes ``start..end`` of its body (its files opened before return)."""
        with self.lock:
            found = self.bucket(bucket).objects.get(key)
            if found is None:
                raise no_such_key(key)
            return found, self.bucket(bucket).blobs.read(found.segments, start, end)

    def delete(self, bucket_name: str, key: str) -> None:
        with self.lock:
            bucket = self.bucket(bucket_name)
            gone = bucket.objects.pop(key, None)
            if gone is None:
                return
            bucket.object_path(key).unlink(missing_ok=True)
            bucket.blobs.remove(gone.segments)

    def copy(
        self,
        source: tuple[str, str],
        target: tuple[str, str],
        metadata: dict[str, str] | None,
        storage_class: str,
        if_match: str | None,
    ) -> StoredObject:
        """Copy ``(bucket, key)`` to another; its body's files are linked, not copied."""
        with self.lock:
            found = self.head(*source)
            if if_match is not None and if_match.strip('"') not in (found.etag, "*"):
                raise S3Error(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
            linked = self.bucket(target[0]).blobs.link_from(
                self.bucket(source[0]).blobs, found.segments
            )
            stored = StoredObject(
                key=target[1],
                size=found.size,
                etag=found.etag,
                segments=linked,
                metadata=dict(found.metadata) if metadata is None else metadata,
                storage_class=storage_class,
            )
            self.commit(target[0], stored)
            return stored

    def restore(self, bucket_name: str, key: str, days: int) -> bool:
        """Restore an archived object at once (the embedded S3 has no cold tier); True when it
        was already restored."""
        with self.lock:
            found = self.head(bucket_name, key)
            if found.storage_class not in ARCHIVE_CLASSES:
                raise S3Error(
                    403,
                    "InvalidObjectState",
                    "Restore is not allowed for the object's current storage class",
                )
            already = found.restore_until is not None and found.restore_until > now()
            found.restore_until = now() + timedelta(days=days)
            write_atomically(self.bucket(bucket_name).object_path(key), found.to_json())
            return already

    def list(self, bucket: str, prefix: str, after: str, max_keys: int, delimiter: str) -> Listing:
        """Keys after ``after`` under ``prefix``, in order, rolled up at ``delimiter``."""
        with self.lock:
            candidates = sorted(
                (k, o)
                for k, o in self.bucket(bucket).objects.items()
                if k.startswith(prefix) and k > after
            )
        objects: list[StoredObject] = []
        prefixes: list[str] = []
        last = ""
        for key, stored in candidates:
            if len(objects) + len(prefixes) >= max_keys:
                return Listing(objects, prefixes, True, last)
            if delimiter and delimiter in key[len(prefix) :]:
                rolled = key[: key.index(delimiter, len(prefix)) + len(delimiter)]
                if prefixes and prefixes[-1] == rolled:
                    continue
                prefixes.append(rolled)
            else:
                objects.append(stored)
            last = key
        return Listing(objects, prefixes, False, None)

    # Restoring ---------------------------------------------------------------------------------

    def load(self) -> RestoreReport:
        """Read every bucket and object record under ``root``; objects whose files are damaged
        or missing are reported lost and left out."""
        report = RestoreReport()
        for record in sorted(self.root.glob("*/bucket.json")):
            try:
                stored = StoredBucket.from_json(json.loads(record.read_text()))
            except (ValueError, KeyError, TypeError, OSError) as e:
                log.error("embedded S3: cannot read %s (%s); its objects are lost", record, e)
                continue
            bucket = Bucket(record.parent, stored)
            self.buckets[stored.name] = bucket
            report.buckets += 1
            self._load_objects(bucket, report)
        return report

    def _load_objects(self, bucket: Bucket, report: RestoreReport) -> None:
        for record in sorted((bucket.directory / "objects").glob("*.json")):
            try:
                stored = StoredObject.from_json(json.loads(record.read_text()), record)
            except (ValueError, KeyError, TypeError, OSError) as e:
                report.lost.append(LostObject(bucket.name, record.stem, f"unreadable record: {e}"))
                continue
            damage = bucket.blobs.damage(stored.segments)
            if damage is not None:
                report.lost.append(LostObject(bucket.name, stored.key, damage))
                continue
            bucket.objects[stored.key] = stored
            report.objects += 1
