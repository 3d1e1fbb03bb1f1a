"""The lifecycle sweeps with fakes: what goes, what stays, and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from media_grpc.adapters.blob_storage import BlobStorageUnavailable
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain import keys
from media_grpc.domain.model import (
    FailureReason,
    Media,
    MultipartSession,
    Purpose,
    Status,
)
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.cleanup_schedule import ScheduledCleanup
from media_grpc.service.context import ServiceContext
from tests import media_records as records
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.waiting import eventually

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def make_media(
    media_id: str,
    status: Status,
    *,
    purpose: Purpose = Purpose.POST_IMAGE,
    age: timedelta = timedelta(0),
    post_id: str | None = None,
    now: datetime = NOW,
) -> Media:
    return records.make_media(
        "alice",
        status=status,
        purpose=purpose,
        variant_names=(),
        post_id=post_id,
        media_id=media_id,
        at=now - age,
        content_type="image/jpeg",
    )


def with_objects(storage: InMemoryBlobStorage, media: Media) -> Media:
    """Store the original and two variants of ``media``, and name them in the record."""
    storage.put(media.storage_key, b"abc")
    for key in records.add_variants(media):
        storage.put(key, b"v")
    return media


def cleanup(
    fake_db: FakeDatabase, storage: InMemoryBlobStorage, **settings: object
) -> CleanupService:
    ctx = ServiceContext(uow=fake_db.uow, storage=storage, now=lambda: NOW)
    return CleanupService(ctx, LifecycleSettings.model_validate(settings))


def test_expired_pending_session_is_failed_as_expired_and_its_multipart_upload_aborted(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = make_media("m-expired", Status.PENDING, age=timedelta(hours=1))
    upload_id = memory_storage.create_multipart_upload(media.storage_key, content_type="image/jpeg")
    memory_storage.put_part(upload_id, 1, b"partial")
    media.multipart = MultipartSession(upload_id, 5 * 1024 * 1024, 3)
    fresh = make_media("m-fresh", Status.PENDING, age=timedelta(minutes=5))
    fake_db.media = {m.id: m for m in (media, fresh)}

    report = cleanup(fake_db, memory_storage).run()

    assert (report.expired_sessions, report.multipart_aborted) == (1, 1)
    expired = fake_db.media["m-expired"]
    assert expired.status is Status.FAILED
    assert expired.failure is not None and expired.failure.reason is FailureReason.EXPIRED
    assert upload_id not in memory_storage.uploads
    assert fake_db.media["m-fresh"].status is Status.PENDING


def test_expired_single_put_session_loses_the_object_it_left_behind(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = make_media("m-put", Status.PENDING, age=timedelta(hours=1))
    memory_storage.put(media.storage_key, b"never completed")
    fake_db.media = {media.id: media}

    cleanup(fake_db, memory_storage).run()

    assert memory_storage.objects == {}
    assert fake_db.media["m-put"].status is Status.FAILED


def test_ready_media_never_attached_within_the_ttl_is_deleted_with_every_object(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    old = with_objects(memory_storage, make_media("m-old", Status.READY, age=timedelta(hours=25)))
    young = with_objects(
        memory_storage, make_media("m-young", Status.READY, age=timedelta(hours=23))
    )
    attached = with_objects(
        memory_storage,
        make_media("m-attached", Status.READY, age=timedelta(hours=48), post_id="post-1"),
    )
    profile = with_objects(
        memory_storage,
        make_media("m-profile", Status.READY, purpose=Purpose.PROFILE_IMAGE, age=timedelta(days=9)),
    )
    fake_db.media = {m.id: m for m in (old, young, attached, profile)}

    report = cleanup(fake_db, memory_storage).run()

    assert report.unattached_deleted == 1
    assert fake_db.media["m-old"].status is Status.DELETED
    assert fake_db.media["m-old"].deleted_at == NOW
    assert not [k for k in memory_storage.objects if "m-old" in k]
    for kept in ("m-young", "m-attached", "m-profile"):
        assert fake_db.media[kept].status is Status.READY
        assert [k for k in memory_storage.objects if kept in k]


def test_deleted_media_is_purged_after_retention_with_objects_left_under_its_prefix(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    gone = make_media("m-gone", Status.DELETED, purpose=Purpose.POST_VIDEO, age=timedelta(days=8))
    prefix = keys.output_prefix(gone.storage_key, video=True)
    memory_storage.put(f"{prefix}hls/720p/segment-00001.ts", b"ts")
    memory_storage.put(gone.storage_key, b"mp4")
    recent = make_media("m-recent", Status.DELETED, age=timedelta(days=1))
    fake_db.media = {m.id: m for m in (gone, recent)}

    report = cleanup(fake_db, memory_storage, deleted_retention_hours=168).run()

    assert report.records_purged == 1
    assert set(fake_db.media) == {"m-recent"}
    assert memory_storage.objects == {}


def test_dry_run_counts_what_would_go_and_changes_nothing(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.media = {
        m.id: m
        for m in (
            make_media("a", Status.PENDING, age=timedelta(hours=2)),
            make_media("b", Status.READY, age=timedelta(hours=30)),
            make_media("c", Status.DELETED, age=timedelta(days=30)),
        )
    }
    before = fake_db.commits

    report = cleanup(fake_db, memory_storage).run(dry_run=True)

    assert (report.expired_sessions, report.unattached_deleted, report.records_purged) == (1, 1, 1)
    assert fake_db.commits == before
    assert "expired upload sessions (would be): 1" in report.lines()


def test_cleanup_works_through_more_media_than_one_batch(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.media = {
        f"m{i}": make_media(f"m{i}", Status.PENDING, age=timedelta(hours=1)) for i in range(7)
    }

    report = cleanup(fake_db, memory_storage, batch_size=3).run()

    assert report.expired_sessions == 7
    assert {m.status for m in fake_db.media.values()} == {Status.FAILED}


def test_a_second_run_finds_nothing_left_to_do(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.media = {"x": make_media("x", Status.READY, age=timedelta(days=2))}
    service = cleanup(fake_db, memory_storage)
    service.run()

    again = service.run()

    assert (again.expired_sessions, again.unattached_deleted, again.records_purged) == (0, 0, 0)
    assert again.errors == []


def test_scheduled_cleanup_runs_every_interval_until_stopped(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.media = {"old": make_media("old", Status.PENDING, age=timedelta(hours=1))}
    scheduled = ScheduledCleanup(cleanup(fake_db, memory_storage), interval=0.01)
    runtime = ProcessRuntime("test")
    runtime.start_loop("cleanup", scheduled.run, stop=scheduled.request_stop)
    try:
        eventually(lambda: fake_db.media["old"].status is not Status.PENDING, "a scheduled run", 5)
    finally:
        runtime.stop()

    assert fake_db.media["old"].status is Status.FAILED


def test_scheduled_cleanup_with_interval_zero_never_starts(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.media = {"old": make_media("old", Status.PENDING, age=timedelta(hours=1))}
    scheduled = ScheduledCleanup(cleanup(fake_db, memory_storage), interval=0)

    assert not scheduled.enabled  # the runtime starts no thread for it
    scheduled.run()  # returns at once: nothing runs, now or later
    assert fake_db.media["old"].status is Status.PENDING
    assert fake_db.commits == 0


class UnreachableStorage(InMemoryBlobStorage):
    def delete(self, keys: list[str]) -> None:
        raise BlobStorageUnavailable("connection refused")


def test_storage_failure_leaves_the_media_for_the_next_run_and_is_reported(
    fake_db: FakeDatabase,
) -> None:
    fake_db.media = {
        f"m{i}": make_media(f"m{i}", Status.READY, age=timedelta(days=2)) for i in range(5)
    }

    report = cleanup(fake_db, UnreachableStorage(), batch_size=2).run()

    assert report.unattached_deleted == 0
    assert len(report.errors) == 2  # the first batch failed; the sweep stopped there
    assert "connection refused" in report.errors[0]
    assert {m.status for m in fake_db.media.values()} == {Status.READY}
