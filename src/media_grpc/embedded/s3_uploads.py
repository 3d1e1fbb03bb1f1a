"""Multipart uploads of the embedded S3: parts are written once and become the object's
segments as they are, so CompleteMultipartUpload moves no bytes whatever the size.

S3's rules hold: a part is 1..10000, every part but the last at least 5 MiB, the parts named at
completion exist with those ETags and come in ascending order, and the object's ETag is the MD5
of the parts' MD5s followed by ``-N``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from io import BufferedIOBase
from pathlib import Path

from media_grpc.embedded.blob_files import Expected, Segment
from media_grpc.embedded.s3_errors import S3Error, no_such_upload
from media_grpc.embedded.s3_records import (
    StoredObject,
    StoredPart,
    StoredUpload,
    write_atomically,
)
from media_grpc.embedded.s3_store import Bucket, S3Store

#: The smallest part but the last (S3: 5 MiB).
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000


def _path(bucket: Bucket, upload_id: str) -> Path:
    return bucket.directory / "uploads" / f"{upload_id}.json"


def _check_number(number: int) -> None:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000")


class MultipartUploads:
    """The uploads in progress of every bucket of ``store`` (kept on disk, so they survive a
    restart)."""

    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.uploads: dict[tuple[str, str], StoredUpload] = {}

    def load(self) -> None:
        for bucket in self.store.buckets.values():
            for record in (bucket.directory / "uploads").glob("*.json"):
                try:
                    upload = StoredUpload.from_json(json.loads(record.read_text()))
                except (ValueError, KeyError, TypeError, OSError):
                    continue
                self.uploads[(bucket.name, upload.upload_id)] = upload

    def _upload(self, bucket: str, upload_id: str, key: str) -> StoredUpload:
        found = self.uploads.get((bucket, upload_id))
        if found is None or found.key != key:
            raise no_such_upload()
        return found

    def _save(self, bucket: str, upload: StoredUpload) -> None:
        write_atomically(_path(self.store.bucket(bucket), upload.upload_id), upload.to_json())

    def create(self, bucket: str, key: str, metadata: dict[str, str], storage_class: str) -> str:
        upload = StoredUpload(uuid.uuid4().hex, key, metadata, storage_class)
        with self.store.lock:
            self._save(bucket, upload)
            self.uploads[(bucket, upload.upload_id)] = upload
        return upload.upload_id

    def put_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        body: BufferedIOBase,
        expected: Expected,
    ) -> str:
        """Write part ``number`` from ``body``; its ETag (quoted)."""
        _check_number(number)
        with self.store.lock:
            self._upload(bucket, upload_id, key)
        blobs = self.store.bucket(bucket).blobs
        written = blobs.write(body, expected)
        self._keep_part(
            bucket, key, upload_id, StoredPart(number, written.md5_hex, written.segment)
        )
        return f'"{written.md5_hex}"'

    def copy_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        source: tuple[str, str],
        byte_range: tuple[int, int] | None,
        if_match: str | None,
    ) -> StoredPart:
        """UploadPartCopy: bytes of ``source`` (all, or ``byte_range`` inclusive) as a part."""
        _check_number(number)
        with self.store.lock:
            self._upload(bucket, upload_id, key)
            found = self.store.head(*source)
            if if_match is not None and if_match.strip('"') not in (found.etag, "*"):
                raise S3Error(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )
            start, end = byte_range if byte_range is not None else (0, found.size - 1)
            if start > end or end >= found.size:
                raise S3Error(
                    400, "InvalidArgument", "The x-amz-copy-source-range value is not valid"
                )
            _, chunks = self.store.read(*source, start, end)
        written = self.store.bucket(bucket).blobs.write_chunks(chunks, end - start + 1)
        part = StoredPart(number, written.md5_hex, written.segment)
        self._keep_part(bucket, key, upload_id, part)
        return part

    def _keep_part(self, bucket: str, key: str, upload_id: str, part: StoredPart) -> None:
        blobs = self.store.bucket(bucket).blobs
        with self.store.lock:
            try:
                upload = self._upload(bucket, upload_id, key)
            except S3Error:
                blobs.remove([part.segment])  # aborted or completed meanwhile
                raise
            replaced = upload.parts.get(part.number)
            upload.parts[part.number] = part
            self._save(bucket, upload)
            if replaced is not None:
                blobs.remove([replaced.segment])

    def parts(self, bucket: str, key: str, upload_id: str) -> StoredUpload:
        with self.store.lock:
            return self._upload(bucket, upload_id, key)

    def in_progress(self, bucket: str, prefix: str) -> list[StoredUpload]:
        with self.store.lock:
            self.store.bucket(bucket)
            found = [
                u for (b, _), u in self.uploads.items() if b == bucket and u.key.startswith(prefix)
            ]
        return sorted(found, key=lambda u: (u.key, u.initiated))

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self.store.lock:
            upload = self._upload(bucket, upload_id, key)
            self._forget(bucket, upload, [p.segment for p in upload.parts.values()])

    def _forget(self, bucket: str, upload: StoredUpload, segments: Sequence[Segment]) -> None:
        stored = self.store.bucket(bucket)
        del self.uploads[(bucket, upload.upload_id)]
        _path(stored, upload.upload_id).unlink(missing_ok=True)
        stored.blobs.remove(segments)

    def complete(
        self, bucket: str, key: str, upload_id: str, named: Sequence[tuple[int, str]]
    ) -> StoredObject:
        """Make the named parts, in order, the object at ``key``; parts not named are dropped."""
        with self.store.lock:
            upload = self._upload(bucket, upload_id, key)
            chosen = self._chosen_parts(upload, named)
            md5s = b"".join(bytes.fromhex(p.etag) for p in chosen)
            stored = StoredObject(
                key=key,
                size=sum(p.segment.size for p in chosen),
                etag=f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}",
                segments=[p.segment for p in chosen],
                metadata=upload.metadata,
                storage_class=upload.storage_class,
            )
            self.store.commit(bucket, stored)
            kept = {p.number for p in chosen}
            dropped = [p.segment for n, p in upload.parts.items() if n not in kept]
            self._forget(bucket, upload, dropped)
        return stored

    @staticmethod
    def _chosen_parts(upload: StoredUpload, named: Sequence[tuple[int, str]]) -> list[StoredPart]:
        if not named:
            raise S3Error(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
            )
        numbers = [n for n, _ in named]
        if numbers != sorted(set(numbers)):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        chosen = []
        for number, etag in named:
            part = upload.parts.get(number)
            if part is None or part.etag != etag.strip().strip('"'):
                raise S3Error(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the part's "
                    "entity tag.",
                )
            chosen.append(part)
        if any(p.segment.size < MIN_PART_BYTES for p in chosen[:-1]):
            raise S3Error(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
            )
        return chosen
