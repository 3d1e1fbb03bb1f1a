"""Keeps the embedded S3's buckets and objects on disk, so they survive a restart.

moto keeps everything in memory. After each request that changes a bucket or an object, the
embedded endpoint writes what moto now holds to ``{data_dir}/s3``: an object as ``<sha>.data`` plus
``<sha>.json`` (its key, size, sha256, ETag, storage class and metadata), a bucket as the bodies
of the requests that configured it (creation, CORS, policy, lifecycle, ...), replayed at start.
Writes go to a temporary file and are renamed into place, so a crash leaves the old or the new
version, never half of one. Multipart uploads still in progress are not kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Replays a bucket request: (method, bucket, subresource, body) -> HTTP status.
Replay = Callable[[str, str, str, bytes], int]


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


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DiskMirror:
    """The on-disk copy of the embedded S3 under ``root`` (``{MEDIA_DATA_DIR}/s3``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / _name(bucket)

    def _bucket_file(self, bucket: str) -> Path:
        return self._bucket_dir(bucket) / "bucket.json"

    def _objects(self, bucket: str) -> Path:
        return self._bucket_dir(bucket) / "objects"

    # Buckets -----------------------------------------------------------------------------------

    def _read_bucket(self, bucket: str) -> dict[str, Any]:
        path = self._bucket_file(bucket)
        if not path.exists():
            return {"name": bucket, "requests": {}}
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    def save_bucket_request(self, bucket: str, subresource: str, body: bytes) -> None:
        """Keep the body of ``PUT /bucket?subresource`` (``""``: the bucket's creation)."""
        with self._lock:
            state = self._read_bucket(bucket)
            state["requests"][subresource] = base64.b64encode(body).decode()
            _write_atomically(self._bucket_file(bucket), json.dumps(state).encode())

    def forget_bucket_request(self, bucket: str, subresource: str) -> None:
        with self._lock:
            if not self._bucket_file(bucket).exists():
                return
            state = self._read_bucket(bucket)
            state["requests"].pop(subresource, None)
            _write_atomically(self._bucket_file(bucket), json.dumps(state).encode())

    def forget_bucket(self, bucket: str) -> None:
        with self._lock:
            shutil.rmtree(self._bucket_dir(bucket), ignore_errors=True)

    # Objects -----------------------------------------------------------------------------------

    def save_object(self, bucket: str, key: str, fake_key: Any) -> None:
        """Write moto's current ``fake_key`` (None: the key is gone) for ``bucket``/``key``."""
        base = self._objects(bucket) / _name(key)
        with self._lock:
            if fake_key is None:
                base.with_suffix(".json").unlink(missing_ok=True)
                base.with_suffix(".data").unlink(missing_ok=True)
                return
            value: bytes = fake_key.value
            meta = {
                "key": key,
                "size": len(value),
                "sha256": hashlib.sha256(value).hexdigest(),
                "etag": fake_key.etag.strip('"'),
                "storage_class": fake_key.storage_class,
                "metadata": dict(fake_key.metadata),
            }
            _write_atomically(base.with_suffix(".data"), value)
            _write_atomically(base.with_suffix(".json"), json.dumps(meta).encode())

    def forget_missing_objects(self, bucket: str, keys_present: set[str]) -> None:
        """Drop the files of objects no longer in the bucket (after a multi-object delete)."""
        with self._lock:
            for meta_path in self._objects(bucket).glob("*.json"):
                try:
                    key = json.loads(meta_path.read_text())["key"]
                except (ValueError, KeyError, OSError):
                    continue
                if key not in keys_present:
                    meta_path.unlink(missing_ok=True)
                    meta_path.with_suffix(".data").unlink(missing_ok=True)

    # Restoring ---------------------------------------------------------------------------------

    def restore(self, replay: Replay, backend: Any) -> RestoreReport:
        """Recreate every kept bucket through ``replay`` and put its objects into ``backend``."""
        report = RestoreReport()
        if not self.root.exists():
            return report
        for bucket_file in sorted(self.root.glob("*/bucket.json")):
            try:
                state = json.loads(bucket_file.read_text())
                bucket = str(state["name"])
                requests: dict[str, str] = state["requests"]
            except (ValueError, KeyError, OSError) as e:
                log.error("embedded S3: cannot read %s (%s); its objects are lost", bucket_file, e)
                continue
            creation = base64.b64decode(requests.get("", ""))
            status = replay("PUT", bucket, "", creation)
            if status >= 300 and bucket not in backend.buckets:
                log.error("embedded S3: cannot recreate bucket %s (HTTP %s)", bucket, status)
                continue
            for subresource, body in requests.items():
                if (
                    subresource
                    and replay("PUT", bucket, subresource, base64.b64decode(body)) >= 300
                ):
                    log.error("embedded S3: cannot restore %s of bucket %s", subresource, bucket)
            report.buckets += 1
            self._restore_objects(bucket, backend, report)
        return report

    def _restore_objects(self, bucket: str, backend: Any, report: RestoreReport) -> None:
        objects = self._objects(bucket)
        for meta_path in sorted(objects.glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text())
                key = str(meta["key"])
            except (ValueError, KeyError, OSError) as e:
                report.lost.append(LostObject(bucket, meta_path.stem, f"unreadable metadata: {e}"))
                continue
            lost = self._restore_object(bucket, key, meta, meta_path.with_suffix(".data"), backend)
            if lost is None:
                report.objects += 1
            else:
                report.lost.append(LostObject(bucket, key, lost))

    @staticmethod
    def _restore_object(
        bucket: str, key: str, meta: dict[str, Any], data_path: Path, backend: Any
    ) -> str | None:
        try:
            value = data_path.read_bytes()
        except OSError as e:
            return f"its data file cannot be read ({e.strerror or e})"
        if len(value) != meta.get("size") or hashlib.sha256(value).hexdigest() != meta.get(
            "sha256"
        ):
            return "its data file does not match the size and sha256 recorded when it was stored"
        fake_key = backend.put_object(
            bucket, key, value, storage=meta.get("storage_class"), etag=meta.get("etag")
        )
        fake_key.set_metadata(dict(meta.get("metadata", {})))
        return None
