"""The verified-hash backfill through the service layer, with fakes: media READY before jobs
hashed originals get their hash from a pinned read of the original, and then match an upload
of the same bytes; archived, missing, changed and contradicted originals are never recorded."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from media_grpc.adapters.blob_storage import BlobStorageUnavailable, ChunkSink
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.keys import frozen_original_key
from media_grpc.domain.model import Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.hash_backfill import HashBackfill, Outcome
from media_grpc.service.uploads import UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage, StoredObject
from tests.media_records import make_media
from tests.unit.service.test_archive import ArchivingStorage
from tests.unit.service.test_uploads import request as upload_request


def pre_dedupe(
    db: FakeDatabase,
    storage: InMemoryBlobStorage,
    data: bytes = b"old photo",
    *,
    owner: str = "alice",
    frozen: bool = True,
    **changes: object,
) -> Media:
    """A media READY before migration 0008: its original stored (frozen, or at the upload key
    as before originals were frozen), pinned by its ETag, no verified sha256."""
    media = replace(
        make_media(owner),
        size_bytes=len(data),
        etag=StoredObject(data, "").etag,
        verified_sha256=None,
        **changes,
    )  # type: ignore[arg-type]
    db.media[media.id] = media
    storage.put(frozen_original_key(media.storage_key) if frozen else media.storage_key, data)
    return media


def outcomes(report: object) -> dict[Outcome, int]:
    return {o: n for o, n in report.outcomes.items() if n}  # type: ignore[attr-defined]


def test_a_media_ready_before_dedupe_gets_its_hash_and_then_matches_an_upload_of_its_bytes(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    data = b"the same bytes"
    media = pre_dedupe(fake_db, memory_storage, data)
    sha = hashlib.sha256(data).hexdigest()
    uploads = UploadService(fake_ctx, UploadSettings())
    same = upload_request(file_name="again.jpg", sha256=sha, size_bytes=len(data))
    assert not uploads.create_session(Principal("alice"), same).deduplicated

    report = HashBackfill(fake_ctx).run()

    assert outcomes(report) == {Outcome.HASHED: 1}
    assert (report.bytes_read, report.remaining, report.errors) == (len(data), 0, [])
    assert fake_db.media[media.id].verified_sha256 == sha
    assert fake_db.media[media.id].updated_at == media.updated_at
    again = uploads.create_session(Principal("alice"), replace(same, idempotency_key="k2"))
    assert again.deduplicated
    assert fake_db.media[again.media.id].source_key == media.storage_key


def test_an_original_kept_at_its_upload_key_from_before_freezing_is_hashed(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = pre_dedupe(fake_db, memory_storage, b"older still", frozen=False)
    assert outcomes(HashBackfill(fake_ctx).run()) == {Outcome.HASHED: 1}
    assert fake_db.media[media.id].verified_sha256 == hashlib.sha256(b"older still").hexdigest()


def test_a_run_reads_at_most_its_limit_in_id_order_page_by_page_and_counts_the_rest(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    made = [pre_dedupe(fake_db, memory_storage, f"photo {n}".encode()) for n in range(5)]
    first_three = sorted(m.id for m in made)[:3]

    report = HashBackfill(fake_ctx, batch_size=2).run(limit=3)

    assert (report.hashed, report.remaining) == (3, 2)
    hashed = sorted(i for i, m in fake_db.media.items() if m.verified_sha256)
    assert hashed == first_three
    assert HashBackfill(fake_ctx, batch_size=2).run().hashed == 2


def test_an_owner_filter_reads_only_that_owners_media(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    mine = pre_dedupe(fake_db, memory_storage, b"mine")
    theirs = pre_dedupe(fake_db, memory_storage, b"theirs", owner="bob")
    report = HashBackfill(fake_ctx).run(owner_id="alice")
    assert (report.hashed, report.remaining) == (1, 0)
    assert fake_db.media[mine.id].verified_sha256
    assert fake_db.media[theirs.id].verified_sha256 is None


def test_a_dry_run_counts_and_reads_nothing(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    for n in range(3):
        pre_dedupe(fake_db, memory_storage, f"photo {n}".encode())

    report = HashBackfill(fake_ctx).run(limit=2, dry_run=True)

    assert (report.would_read, report.remaining, report.bytes_read) == (2, 3, 0)
    assert report.lines() == ["would read (dry run): 2", "remaining: 3"]
    assert all(m.verified_sha256 is None for m in fake_db.media.values())


def test_an_archived_original_is_skipped_and_not_restored(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    storage = ArchivingStorage(restorable=True)
    fake_ctx.storage = storage
    media = pre_dedupe(fake_db, storage)
    storage.archived.add(frozen_original_key(media.storage_key))

    report = HashBackfill(fake_ctx).run()

    assert outcomes(report) == {Outcome.ARCHIVED: 1}
    assert (report.bytes_read, report.remaining, storage.restoring) == (0, 1, set())
    assert fake_db.media[media.id].verified_sha256 is None


def test_a_missing_original_is_skipped(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = pre_dedupe(fake_db, memory_storage)
    memory_storage.objects.clear()
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.MISSING: 1}
    assert fake_db.media[media.id].verified_sha256 is None


def test_an_original_whose_size_changed_since_completion_is_not_hashed(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = pre_dedupe(fake_db, memory_storage, b"original")
    memory_storage.put(frozen_original_key(media.storage_key), b"other bytes")
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.CHANGED: 1}
    assert (report.bytes_read, report.remaining) == (0, 1)
    assert fake_db.media[media.id].verified_sha256 is None


def test_a_frozen_copy_under_another_etag_is_hashed_as_storage_holds_it(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    """AWS gives the copy of a multipart object an ETag of its own: the read is pinned to the
    copy's ETag, and the hash is of the bytes that dedupe would share."""
    media = pre_dedupe(fake_db, memory_storage, b"original")
    memory_storage.put(frozen_original_key(media.storage_key), b"replaced")
    assert memory_storage.head(frozen_original_key(media.storage_key)).etag != media.etag
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.HASHED: 1}
    assert fake_db.media[media.id].verified_sha256 == hashlib.sha256(b"replaced").hexdigest()


class ChangingStorage(InMemoryBlobStorage):
    """Runs ``meanwhile`` once, just before a read, as another process would."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile = lambda: None

    def read_chunks(self, key: str, on_chunk: ChunkSink, *, etag: str | None = None) -> None:
        self.meanwhile()
        super().read_chunks(key, on_chunk, etag=etag)


def test_an_object_replaced_between_its_head_and_its_read_is_not_hashed(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    storage = ChangingStorage()
    fake_ctx.storage = storage
    media = pre_dedupe(fake_db, storage, b"original")
    key = frozen_original_key(media.storage_key)
    storage.meanwhile = lambda: storage.put(key, b"replaced")
    assert outcomes(HashBackfill(fake_ctx).run()) == {Outcome.CHANGED: 1}
    assert fake_db.media[media.id].verified_sha256 is None


def test_a_deletion_committed_while_the_original_is_read_wins(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    storage = ChangingStorage()
    fake_ctx.storage = storage
    media = pre_dedupe(fake_db, storage)

    def delete() -> None:
        with fake_db.uow() as uow:
            found = uow.media.get(media.id, for_update=True)
            assert found is not None
            found.status = Status.DELETED
            uow.media.save(found)
            uow.commit()

    storage.meanwhile = delete
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.MOVED_ON: 1}
    assert (fake_db.media[media.id].status, fake_db.media[media.id].verified_sha256) == (
        Status.DELETED,
        None,
    )


def test_a_hash_contradicting_the_declared_sha256_is_counted_and_not_recorded(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = pre_dedupe(fake_db, memory_storage, sha256="0" * 64)
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.MISMATCH: 1}
    assert (fake_db.media[media.id].verified_sha256, report.remaining) == (None, 1)


def test_a_declared_sha256_that_agrees_is_recorded_as_verified(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    sha = hashlib.sha256(b"declared right").hexdigest()
    media = pre_dedupe(fake_db, memory_storage, b"declared right", sha256=sha)
    assert outcomes(HashBackfill(fake_ctx).run()) == {Outcome.HASHED: 1}
    assert fake_db.media[media.id].verified_sha256 == sha


def test_a_storage_failure_is_reported_and_the_run_goes_on_to_the_next_media(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    storage = ChangingStorage()
    fake_ctx.storage = storage
    made = sorted(
        (pre_dedupe(fake_db, storage, f"photo {n}".encode()) for n in range(2)),
        key=lambda m: m.id,
    )
    failures = [BlobStorageUnavailable("503 SlowDown")]

    def fail_once() -> None:
        if failures:
            raise failures.pop()

    storage.meanwhile = fail_once
    report = HashBackfill(fake_ctx).run()
    assert outcomes(report) == {Outcome.FAILED: 1, Outcome.HASHED: 1}
    assert report.errors == [f"{made[0].id}: object storage is unavailable: 503 SlowDown"]
    assert report.remaining == 1
    assert "failed: 1" in report.lines()


def test_the_default_streamed_read_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    storage = InMemoryBlobStorage()
    storage.put("k", b"abc")
    seen: list[bytes] = []
    storage.read_chunks("k", seen.append, etag=storage.head("k").etag)
    assert (seen, list(tmp_path.iterdir())) == ([b"abc"], [])
