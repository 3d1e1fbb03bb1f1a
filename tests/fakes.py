"""Fakes that are real implementations: in-memory storage, repository, outbox, unit of work."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media_grpc.adapters.audit_log import AbstractAuditLog
from media_grpc.adapters.blob_storage import (
    BlobNotFound,
    BlobStorage,
    BlobStorageUnavailable,
    ChunkSink,
    ObjectInfo,
    PresignedRequest,
    StoredPart,
)
from media_grpc.adapters.change_listener import RESYNC, ChangeListener
from media_grpc.adapters.idle_buckets import count_idle_in, forget_idle_in
from media_grpc.adapters.import_repository import AbstractImportRepository
from media_grpc.adapters.job_publisher import JobPublisher, PublishFailed
from media_grpc.adapters.media_sweeps import SweepSet
from media_grpc.adapters.outbox import AbstractOutbox
from media_grpc.adapters.owner_call_rates import InMemoryCallRates
from media_grpc.adapters.owner_limits import AbstractOwnerLimits
from media_grpc.adapters.profile_images import AbstractProfileImages
from media_grpc.adapters.repository import AbstractMediaRepository, MediaFilter
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.audit import EventFilter, MediaEvent
from media_grpc.domain.imports import ImportRecord, ImportState
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Media, Purpose, Status


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str = ""
    version_id: str | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'


class InMemoryBlobStorage(BlobStorage):
    """A bucket in a dict. Presigned URLs are ``memory://`` URLs; tests ``put`` bytes directly.

    ``versioned=True`` gives every write a VersionId, as a bucket with versioning does.
    ``reads`` records each ranged read as (key, start, end, etag).
    """

    def __init__(self, *, versioned: bool = False) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.uploads: dict[str, tuple[str, str, dict[int, bytes]]] = {}
        self.versioned = versioned
        self.writes = 0
        self.reads: list[tuple[str, int, int, str | None]] = []
        #: The Content-Type each presigned key was signed with: what a client sends.
        self.signed_types: dict[str, str] = {}
        #: Each server-side copy as (source, target, etag, version_id).
        self.copies: list[tuple[str, str, str, str | None]] = []

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write as a client would: with the Content-Type the key's URL was signed with."""
        if content_type is None:
            content_type = self.signed_types.get(key, "application/octet-stream")
        self.objects[key] = self._new_object(data, content_type)

    def _new_object(self, data: bytes, content_type: str, cache_control: str = "") -> StoredObject:
        self.writes += 1
        version = f"v{self.writes}" if self.versioned else None
        return StoredObject(data, content_type, cache_control, version)

    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        sha256_b64: str | None,
        expires_in: int,
    ) -> PresignedRequest:
        headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
        if sha256_b64:
            headers["x-amz-checksum-sha256"] = sha256_b64
        self.signed_types[key] = content_type
        return PresignedRequest(url=f"memory://{key}?expires={expires_in}", headers=headers)

    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        upload_id = f"upload-{len(self.uploads) + 1}"
        self.uploads[upload_id] = (key, content_type, {})
        return upload_id

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedRequest:
        headers = {} if content_length is None else {"Content-Length": str(content_length)}
        return PresignedRequest(
            url=f"memory://{key}?uploadId={upload_id}&partNumber={part_number}", headers=headers
        )

    def put_part(self, upload_id: str, part_number: int, data: bytes) -> str:
        if upload_id not in self.uploads:
            raise BlobNotFound(upload_id)
        self.uploads[upload_id][2][part_number] = data
        return StoredObject(data, "").etag

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        if upload_id not in self.uploads:
            raise BlobNotFound(upload_id)
        parts = self.uploads[upload_id][2]
        return [StoredPart(n, StoredObject(d, "").etag, len(d)) for n, d in sorted(parts.items())]

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> str:
        """As S3: every listed part must be stored with that ETag, all but the last >= 5 MiB."""
        if upload_id not in self.uploads:
            raise BlobNotFound(upload_id)
        _, content_type, stored = self.uploads[upload_id]
        numbers = [n for n, _ in sorted(parts)]
        for n, etag in parts:
            if n not in stored or StoredObject(stored[n], "").etag != etag:
                raise BlobStorageUnavailable(f"InvalidPart {n}")
            if n != numbers[-1] and len(stored[n]) < 5 * 1024 * 1024:
                raise BlobStorageUnavailable(f"EntityTooSmall {n}")
        del self.uploads[upload_id]
        self.objects[key] = self._new_object(b"".join(stored[n] for n in numbers), content_type)
        return self.objects[key].etag

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)

    def head(self, key: str) -> ObjectInfo:
        obj = self._get(key)
        return ObjectInfo(
            size=len(obj.data),
            etag=obj.etag,
            content_type=obj.content_type,
            version_id=obj.version_id,
        )

    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        self.reads.append((key, start, end, etag))
        return self._get(key, etag).data[start : end + 1]

    def download(
        self, key: str, path: Path, *, etag: str | None = None, on_chunk: ChunkSink | None = None
    ) -> None:
        data = self._get(key, etag).data
        if on_chunk is not None:
            on_chunk(data)
        path.write_bytes(data)

    def copy(self, source: str, target: str, *, pinned: ObjectInfo) -> None:
        self.copies.append((source, target, pinned.etag, pinned.version_id))
        obj = self._get(source, pinned.etag)
        if pinned.version_id is not None and obj.version_id != pinned.version_id:
            raise BlobNotFound(source)
        self.objects[target] = self._new_object(obj.data, pinned.content_type)

    def upload_file(self, path: Path, key: str, *, content_type: str, cache_control: str) -> None:
        self.objects[key] = self._new_object(path.read_bytes(), content_type, cache_control)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return f"memory://{key}?method=GET&expires={expires_in}"

    def _get(self, key: str, etag: str | None = None) -> StoredObject:
        obj = self.objects.get(key)
        if obj is None or (etag is not None and obj.etag != etag):
            raise BlobNotFound(key)
        return obj


class UniqueViolation(Exception):
    """What the database raises for a second row with a unique key."""


#: Each sweep set as Python: whether a media belongs to it given ``now`` and ``before``, and the
#: field it is oldest first by (the repository's ``_SWEEP_SETS`` in SQL).
_SWEEP_SETS: dict[SweepSet, tuple[Callable[[Media, datetime, datetime], bool], str]] = {
    SweepSet.EXPIRED_PENDING: (
        lambda m, now, _before: m.status is Status.PENDING and m.expires_at < now,
        "expires_at",
    ),
    SweepSet.UNATTACHED_READY: (
        lambda m, _now, before: (
            m.status is Status.READY
            and m.post_id is None
            and m.purpose is not Purpose.PROFILE_IMAGE
            and m.updated_at < before
        ),
        "updated_at",
    ),
    SweepSet.DELETED: (
        lambda m, _now, before: (
            m.status is Status.DELETED and (m.deleted_at or m.updated_at) < before
        ),
        "updated_at",
    ),
    SweepSet.FAILED_SESSIONS: (
        lambda m, now, _before: (
            m.status is Status.FAILED
            and m.etag is None
            and m.expires_at < now
            and m.updated_at <= m.expires_at
        ),
        "updated_at",
    ),
    SweepSet.FAILED_UPLOADS: (
        lambda m, now, before: (
            m.status is Status.FAILED and m.expires_at < now and m.updated_at < before
        ),
        "updated_at",
    ),
    SweepSet.UNSWEPT_UPLOADS: (
        lambda m, now, _before: (
            m.etag is not None
            and m.upload_swept_at is None
            and m.expires_at < now
            and m.status in (Status.READY, Status.FAILED, Status.DELETED)
        ),
        "expires_at",
    ),
    SweepSet.STUCK: (
        lambda m, _now, before: (
            m.status in (Status.UPLOADED, Status.PROCESSING) and m.updated_at < before
        ),
        "updated_at",
    ),
}


class InMemoryMediaRepository(AbstractMediaRepository):
    """``committed`` gives the rows other units of work committed since this one began: a
    unique index sees them too."""

    def __init__(
        self, rows: dict[str, Media], committed: Callable[[], dict[str, Media]] | None = None
    ) -> None:
        self.rows = rows
        self.committed = committed or (lambda: {})

    def add(self, media: Media) -> None:
        """As the database's unique index: one media per (owner, idempotency key)."""
        if media.idempotency_key and any(
            m.owner_id == media.owner_id and m.idempotency_key == media.idempotency_key
            for m in [*self.rows.values(), *self.committed().values()]
        ):
            raise UniqueViolation(f"{media.owner_id}/{media.idempotency_key}")
        self.rows[media.id] = copy.deepcopy(media)

    def add_below_pending_cap(self, media: Media, cap: int, now: datetime) -> bool:
        if len(self.open_session_expiries(media.owner_id, now, cap)) >= cap:
            return False
        self.add(media)
        return True

    def get(self, media_id: str, *, for_update: bool = False) -> Media | None:
        found = self.rows.get(media_id)
        return copy.deepcopy(found) if found else None

    def get_many(self, media_ids: Sequence[str], *, for_update: bool = False) -> list[Media]:
        return [copy.deepcopy(self.rows[i]) for i in sorted(set(media_ids)) if i in self.rows]

    def save(self, media: Media) -> None:
        self.rows[media.id] = copy.deepcopy(media)

    def transition(self, before: Media, after: Media) -> bool:
        """As the database's UPDATE ... WHERE status: it sees the latest committed row too."""
        assert before.id == after.id and before.variants == after.variants
        latest = self.committed().get(before.id, self.rows.get(before.id))
        current = self.rows.get(before.id)
        if current is None or latest is None:
            return False
        if current.status is not before.status or latest.status is not before.status:
            return False
        updated = copy.deepcopy(current)
        for name in vars(after):
            if getattr(after, name) != getattr(before, name):
                setattr(updated, name, copy.deepcopy(getattr(after, name)))
        self.rows[before.id] = updated
        return True

    def find_by_idempotency_key(self, owner_id: str, key: str) -> Media | None:
        for media in self.rows.values():
            if media.owner_id == owner_id and media.idempotency_key == key:
                return copy.deepcopy(media)
        return None

    def find_ready_copy(self, owner_id: str, purpose: Purpose, sha256: str) -> Media | None:
        found = sorted(
            (
                m
                for m in self.rows.values()
                if (m.owner_id, m.purpose, m.verified_sha256, m.status)
                == (owner_id, purpose, sha256, Status.READY)
            ),
            key=lambda m: m.id,
        )
        return copy.deepcopy(found[0]) if found else None

    def objects_in_use(self, objects_key: str, except_id: str) -> bool:
        return any(
            objects_key in (m.storage_key, m.source_key)
            and m.id != except_id
            and m.status is not Status.DELETED
            for m in self.rows.values()
        )

    def _unhashed(self, owner_id: str | None) -> list[Media]:
        return sorted(
            (
                m
                for m in self.rows.values()
                if m.status is Status.READY
                and m.verified_sha256 is None
                and m.source_key is None
                and owner_id in (None, m.owner_id)
            ),
            key=lambda m: m.id,
        )

    def find_unhashed(
        self, after_id: str | None, limit: int, owner_id: str | None = None
    ) -> list[Media]:
        found = [m for m in self._unhashed(owner_id) if after_id is None or m.id > after_id]
        return [copy.deepcopy(m) for m in found[:limit]]

    def count_unhashed(self, owner_id: str | None = None) -> int:
        return len(self._unhashed(owner_id))

    def record_verified_sha256(self, media_id: str, etag: str, sha256: str) -> bool:
        """As the database's conditional UPDATE: it sees the latest committed row too."""
        latest = self.committed().get(media_id, self.rows.get(media_id))
        current = self.rows.get(media_id)
        for media in (latest, current):
            if media is None or (
                media.status is not Status.READY
                or media.verified_sha256 is not None
                or media.source_key is not None
                or media.etag != etag
            ):
                return False
        assert current is not None
        current.verified_sha256 = sha256
        return True

    def open_session_expiries(self, owner_id: str, now: datetime, limit: int) -> list[datetime]:
        return sorted(
            m.expires_at
            for m in self.rows.values()
            if m.owner_id == owner_id and m.status is Status.PENDING and m.expires_at > now
        )[:limit]

    def find(self, query: MediaFilter) -> list[Media]:
        found = [
            m
            for m in self.rows.values()
            if m.owner_id == query.owner_id
            and (m.status == query.status if query.status else m.status is not Status.DELETED)
            and (query.purpose is None or m.purpose == query.purpose)
            and (query.after is None or (m.created_at, m.id) < query.after)
        ]
        found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return [copy.deepcopy(m) for m in found[: query.limit]]

    def find_for_sweep(
        self, which: SweepSet, now: datetime, before: datetime, limit: int, *, claim: bool = False
    ) -> list[Media]:
        belongs, oldest = _SWEEP_SETS[which]
        found = sorted(
            (m for m in self.rows.values() if belongs(m, now, before)),
            key=lambda m: (getattr(m, oldest), m.id),
        )
        return [copy.deepcopy(m) for m in found[:limit]]

    def purge(self, media_id: str) -> None:
        self.rows.pop(media_id, None)

    def find_by_post(self, post_id: str, *, for_update: bool = False) -> list[Media]:
        found = [
            m for m in self.rows.values() if m.post_id == post_id and m.status is not Status.DELETED
        ]
        found.sort(key=lambda m: (m.post_position, m.id))
        return [copy.deepcopy(m) for m in found]


class InMemoryImportRepository(AbstractImportRepository):
    def __init__(self, rows: dict[str, ImportRecord]) -> None:
        self.rows = rows

    def get(self, key: str, *, for_update: bool = False) -> ImportRecord | None:
        found = self.rows.get(key)
        return copy.deepcopy(found) if found else None

    def add_if_absent(self, record: ImportRecord) -> bool:
        if record.key in self.rows:
            return False
        self.rows[record.key] = copy.deepcopy(record)
        return True

    def save(self, record: ImportRecord) -> None:
        self.rows[record.key] = copy.deepcopy(record)

    def find_by_url(self, url: str) -> ImportRecord | None:
        found = [
            r for r in self.rows.values() if r.source_url == url and r.state is ImportState.IMPORTED
        ]
        found.sort(key=lambda r: r.updated_at)
        return copy.deepcopy(found[-1]) if found else None


class InMemoryOwnerLimits(AbstractOwnerLimits):
    """Token buckets in a dict of owner -> (tokens, refilled_at), the same arithmetic as the
    database's upsert."""

    def __init__(self, buckets: dict[str, tuple[float, float]]) -> None:
        self.buckets = buckets

    def take_token(self, owner_id: str, now: float, rate: float, burst: int) -> float:
        tokens, at = self.buckets.get(owner_id, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - at) * rate) - 1.0
        self.buckets[owner_id] = (tokens, max(now, at))
        return tokens

    def forget_idle(self, refilled_before: float, limit: int) -> int:
        return forget_idle_in(self.buckets, refilled_before, limit)

    def count_idle(self, refilled_before: float, limit: int) -> int:
        return count_idle_in(self.buckets, refilled_before, limit)


class RecordingOutbox(AbstractOutbox):
    """Records added jobs; ``sent_at`` (job id -> when the relay published it) stands for the
    rows' ``published_at``; ``deleted`` collects the ids to drop on commit."""

    def __init__(
        self, jobs: list[ProcessingJob], sent_at: dict[str, datetime] | None = None
    ) -> None:
        self.jobs = jobs
        self.sent_at = sent_at if sent_at is not None else {}
        self.deleted: list[str] = []

    def add(self, job: ProcessingJob) -> None:
        self.jobs.append(job)

    def find_published(
        self, published_before: datetime, limit: int, *, claim: bool = False
    ) -> list[str]:
        found = sorted(
            (at, job_id)
            for job_id, at in self.sent_at.items()
            if at < published_before and job_id not in self.deleted
        )
        return [job_id for _, job_id in found[:limit]]

    def delete(self, job_ids: list[str]) -> None:
        self.deleted.extend(job_ids)


class InMemoryProfileImages(AbstractProfileImages):
    """Owner -> current profile image; one transaction at a time needs no lock."""

    def __init__(self, rows: dict[str, str | None]) -> None:
        self.rows = rows

    def hold(self, owner_id: str, now: datetime) -> str | None:
        return self.rows.setdefault(owner_id, None)

    def set_current(self, owner_id: str, media_id: str, now: datetime) -> None:
        self.rows[owner_id] = media_id

    def current(self, owner_id: str) -> str | None:
        return self.rows.get(owner_id)


class FakeUnitOfWork(AbstractUnitOfWork):
    """Changes become visible to the next unit of work only on commit, as in a database."""

    def __init__(self, store: FakeDatabase) -> None:
        self.store = store
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        self._rows = copy.deepcopy(self.store.media)
        self._jobs: list[ProcessingJob] = []
        self._imports = copy.deepcopy(self.store.imports)
        self.media = InMemoryMediaRepository(self._rows)
        self.imports = InMemoryImportRepository(self._imports)
        self.outbox = RecordingOutbox(self._jobs, dict(self.store.sent_at))
        self._profiles = dict(self.store.profile_images)
        self.profile_images = InMemoryProfileImages(self._profiles)

        self.media = InMemoryMediaRepository(self._rows, lambda: self.store.media)
        self.outbox = RecordingOutbox(self._jobs, dict(self.store.sent_at))
        self._buckets = dict(self.store.buckets)
        self.limits = InMemoryOwnerLimits(self._buckets)
        self.call_rates = InMemoryCallRates(dict(self.store.call_buckets))
        self.events = InMemoryAuditLog(self.store.events)
        return self

    def commit(self) -> None:
        self.store.media = copy.deepcopy(self._rows)
        self.store.imports = copy.deepcopy(self._imports)

        self.store.profile_images = dict(self._profiles)

        self.store.buckets = dict(self._buckets)
        self.store.call_buckets = dict(self.call_rates.buckets)
        self.store.published.extend(self._jobs)
        self._jobs.clear()
        self.events.commit()
        deleted = set(self.outbox.deleted)
        self.store.published = [j for j in self.store.published if j.job_id not in deleted]
        for job_id in deleted:
            self.store.sent_at.pop(job_id, None)
        self.outbox.deleted.clear()
        self.committed = True
        self.store.commits += 1

    def rollback(self) -> None:
        self.events.staged.clear()
        self._rows.clear()
        self._rows.update(copy.deepcopy(self.store.media))
        self._imports.clear()
        self._imports.update(copy.deepcopy(self.store.imports))
        self._jobs.clear()
        self.outbox.deleted.clear()
        self._buckets.clear()
        self._buckets.update(self.store.buckets)


class InMemoryAuditLog(AbstractAuditLog):
    """Events staged until the unit of work commits, then appended to ``committed`` with a
    sequence and the time of the commit (the fake's "database clock")."""

    def __init__(self, committed: list[MediaEvent]) -> None:
        self.committed = committed
        self.staged: list[MediaEvent] = []

    def record(self, event: MediaEvent) -> None:
        self.staged.append(event)

    def commit(self) -> None:
        for event in self.staged:
            sequence = len(self.committed) + 1
            now = datetime.now(UTC)
            self.committed.append(dataclasses.replace(event, sequence=sequence, occurred_at=now))
        self.staged.clear()

    def page(self, which: EventFilter, after: int | None, limit: int) -> list[MediaEvent]:
        def matches(e: MediaEvent) -> bool:
            assert e.occurred_at is not None and e.sequence is not None
            return (
                (not which.media_id or e.media_id == which.media_id)
                and (not which.owner_id or e.owner_id == which.owner_id)
                and (which.since is None or e.occurred_at >= which.since)
                and (which.until is None or e.occurred_at < which.until)
                and (after is None or e.sequence > after)
            )

        return [e for e in self.committed if matches(e)][:limit]

    def count_before(self, cutoff: datetime, limit: int) -> int:
        return len([e for e in self.committed if e.occurred_at and e.occurred_at < cutoff][:limit])

    def forget_before(self, cutoff: datetime, limit: int) -> int:
        old = [e for e in self.committed if e.occurred_at and e.occurred_at < cutoff][:limit]
        for event in old:
            self.committed.remove(event)
        return len(old)


class FakeDatabase:
    """What FakeUnitOfWork commits into: media rows and the outbox (``published`` holds the
    committed jobs; ``sent_at`` marks those the relay published, by job id)."""

    def __init__(self) -> None:
        self.media: dict[str, Media] = {}
        self.imports: dict[str, ImportRecord] = {}
        self.published: list[ProcessingJob] = []
        self.sent_at: dict[str, datetime] = {}
        #: Each owner's current profile image (media id), as committed.
        self.profile_images: dict[str, str | None] = {}

        self.buckets: dict[str, tuple[float, float]] = {}
        self.call_buckets: dict[tuple[str, str], tuple[float, float]] = {}
        #: The audit events committed, in order (sequence and time set at commit).
        self.events: list[MediaEvent] = []
        self.commits = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class RecordingPublisher(JobPublisher):
    """Records published jobs and how often it was started and idled; ``fail_next`` makes the
    next publishes raise PublishFailed. It is back at once after a failure: ``backoffs`` holds
    the seconds of each backoff the relay asked it to wait out, none of which it waits."""

    def __init__(self) -> None:
        self.jobs: list[ProcessingJob] = []
        self.fail_next = 0
        self.started = 0
        self.idled = 0
        self.closed = False
        self.backoffs: list[float] = []

    def wait_for_return(self, seconds: float, stop: threading.Event) -> None:
        self.backoffs.append(seconds)

    def start(self) -> None:
        self.started += 1

    def idle(self) -> None:
        self.idled += 1

    def publish(self, job: ProcessingJob) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise PublishFailed("broker unreachable (fake)")
        self.jobs.append(job)

    def close(self) -> None:
        self.closed = True


class ScriptedChangeListener(ChangeListener):
    """A change listener the test drives: ``hear(ids)`` or ``resync()``; counts subscribers."""

    def __init__(self) -> None:
        self.heard: asyncio.Queue[frozenset[str]] = asyncio.Queue()
        self.started = 0

    def hear(self, *media_ids: str) -> None:
        self.heard.put_nowait(frozenset(media_ids))

    def resync(self) -> None:
        self.heard.put_nowait(RESYNC)

    async def changes(self) -> AsyncIterator[frozenset[str]]:
        self.started += 1
        while True:
            yield await self.heard.get()
