"""The sweeps that repair what a crash or a late client leaves: objects PUT after a failed
session, media stuck UPLOADED/PROCESSING, failed records past retention, old outbox rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from media_grpc.domain import keys
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import (
    Failure,
    FailureReason,
    Media,
    MultipartSession,
    Status,
)
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.service.test_cleanup import NOW, cleanup, make_media


def failed_session(media_id: str, *, age: timedelta, failed_after: timedelta) -> Media:
    """A media whose session (URLs valid 15 minutes) failed ``failed_after`` its creation."""
    media = make_media(media_id, Status.FAILED, age=age)
    media.updated_at = media.created_at + failed_after
    media.failure = Failure(FailureReason.SIZE_MISMATCH, "refused")
    return media


def test_object_put_after_a_refused_session_is_deleted_once_its_url_expired(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    refused = failed_session("m-refused", age=timedelta(hours=1), failed_after=timedelta(minutes=1))
    memory_storage.put(refused.storage_key, b"late put")
    still_open = failed_session(
        "m-open", age=timedelta(minutes=5), failed_after=timedelta(minutes=1)
    )
    memory_storage.put(still_open.storage_key, b"may still be written")
    fake_db.media = {m.id: m for m in (refused, still_open)}

    report = cleanup(fake_db, memory_storage).run()

    assert report.late_puts_swept == 1
    assert refused.storage_key not in memory_storage.objects
    assert still_open.storage_key in memory_storage.objects
    kept = fake_db.media["m-refused"]
    assert kept.status is Status.FAILED
    assert kept.failure is not None and kept.failure.reason is FailureReason.SIZE_MISMATCH


def test_late_put_sweep_aborts_a_multipart_upload_and_finds_nothing_on_a_second_run(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    aborted = failed_session("m-aborted", age=timedelta(hours=1), failed_after=timedelta(0))
    upload_id = memory_storage.create_multipart_upload(aborted.storage_key, content_type="x/y")
    memory_storage.put_part(upload_id, 1, b"late part")
    aborted.multipart = MultipartSession(upload_id, 5 * 1024 * 1024, 2)
    fake_db.media = {aborted.id: aborted}
    service = cleanup(fake_db, memory_storage)

    first, second = service.run(), service.run()

    assert (first.late_puts_swept, first.multipart_aborted) == (1, 1)
    assert upload_id not in memory_storage.uploads
    assert (second.late_puts_swept, second.multipart_aborted) == (0, 0)


def failed_processing(
    fake_db: FakeDatabase, storage: InMemoryBlobStorage, *, failed_ago: timedelta
) -> Media:
    """The only media of ``fake_db``: completed, its processing failed ``failed_ago``, its
    frozen original kept in ``storage``."""
    media = failed_session(
        "m-processing", age=failed_ago + timedelta(hours=1), failed_after=timedelta(0)
    )
    media.updated_at = NOW - failed_ago
    media.etag = '"pinned"'
    media.upload_swept_at = NOW - failed_ago
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "gave up")
    storage.put(keys.frozen_original_key(media.storage_key), b"the original")
    fake_db.media = {media.id: media}
    return media


def test_failed_processing_keeps_its_frozen_original_for_retry_during_the_retention(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = failed_processing(fake_db, memory_storage, failed_ago=timedelta(hours=100))

    report = cleanup(fake_db, memory_storage, deleted_retention_hours=168).run()

    assert (report.late_puts_swept, report.failed_purged) == (0, 0)
    assert keys.frozen_original_key(media.storage_key) in memory_storage.objects


def test_failed_processing_is_purged_with_its_frozen_original_after_the_retention(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    failed_processing(fake_db, memory_storage, failed_ago=timedelta(hours=200))

    report = cleanup(fake_db, memory_storage, deleted_retention_hours=168).run()

    assert report.failed_purged == 1
    assert "m-processing" not in fake_db.media
    assert memory_storage.objects == {}


@pytest.mark.parametrize("status", [Status.READY, Status.FAILED, Status.DELETED])
def test_a_put_after_completion_is_deleted_once_the_url_expired_and_only_once(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, status: Status
) -> None:
    done = make_media("m-done", status, age=timedelta(hours=2))
    done.etag = '"pinned"'
    done.deleted_at = NOW if status is Status.DELETED else None
    frozen = keys.frozen_original_key(done.storage_key)
    memory_storage.put(frozen, b"the frozen original")
    memory_storage.put(done.storage_key, b"<script>a late PUT</script>")
    open_url = make_media("m-open", Status.READY, age=timedelta(minutes=5))
    open_url.etag = '"pinned"'
    fake_db.media = {m.id: m for m in (done, open_url)}
    service = cleanup(fake_db, memory_storage)

    first = service.run()
    memory_storage.put(done.storage_key, b"impossible: the URL expired")
    second = service.run()

    assert (first.completed_uploads_swept, second.completed_uploads_swept) == (1, 0)
    assert fake_db.media["m-done"].upload_swept_at == NOW
    assert fake_db.media["m-done"].status is status
    assert frozen in memory_storage.objects
    assert fake_db.media["m-open"].upload_swept_at is None


def test_media_still_being_processed_are_not_swept_before_their_job_froze_them(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    waiting = make_media("m-waiting", Status.UPLOADED, age=timedelta(minutes=30))
    waiting.etag = '"pinned"'
    memory_storage.put(waiting.storage_key, b"the original, not frozen yet")
    fake_db.media = {waiting.id: waiting}

    report = cleanup(fake_db, memory_storage).run()

    assert report.completed_uploads_swept == 0
    assert waiting.storage_key in memory_storage.objects


def test_failed_upload_records_are_purged_after_the_deleted_retention(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    old = failed_session("m-old", age=timedelta(hours=200), failed_after=timedelta(hours=1))
    recent = failed_session("m-recent", age=timedelta(hours=100), failed_after=timedelta(hours=1))
    memory_storage.put(old.storage_key, b"late put")
    fake_db.media = {m.id: m for m in (old, recent)}

    report = cleanup(fake_db, memory_storage, deleted_retention_hours=168).run()

    assert report.failed_purged == 1
    assert set(fake_db.media) == {"m-recent"}
    assert memory_storage.objects == {}


def test_media_stuck_uploaded_or_processing_gets_a_fresh_job_and_is_uploaded_again(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    rows = [
        make_media("m-uploaded", Status.UPLOADED, age=timedelta(hours=2)),
        make_media("m-processing", Status.PROCESSING, age=timedelta(hours=2)),
        make_media("m-busy", Status.PROCESSING, age=timedelta(minutes=10)),
    ]
    for media in rows:
        media.etag = '"e"'
    fake_db.media = {m.id: m for m in rows}
    service = cleanup(fake_db, memory_storage, stuck_after_minutes=60)

    first, second = service.run(), service.run()

    assert (first.stuck_requeued, second.stuck_requeued) == (2, 0)
    assert sorted(job.media_id for job in fake_db.published) == ["m-processing", "m-uploaded"]
    assert fake_db.media["m-processing"].status is Status.UPLOADED
    assert fake_db.media["m-processing"].updated_at == NOW
    assert fake_db.media["m-busy"].status is Status.PROCESSING


def test_requeue_at_start_up_takes_every_uploaded_and_processing_media(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    rows = [
        make_media("m-just-uploaded", Status.UPLOADED, age=timedelta(seconds=1)),
        make_media("m-processing", Status.PROCESSING, age=timedelta(minutes=1)),
        make_media("m-ready", Status.READY, age=timedelta(minutes=1)),
    ]
    fake_db.media = {m.id: m for m in rows}

    requeued = cleanup(fake_db, memory_storage).requeue_stuck(NOW)

    assert requeued == 2
    assert {job.media_id for job in fake_db.published} == {"m-just-uploaded", "m-processing"}
    assert fake_db.media["m-ready"].status is Status.READY


def test_published_outbox_rows_are_deleted_after_their_retention_and_pending_ones_kept(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    rows = [make_media(f"m-{n}", Status.READY, post_id="p") for n in range(3)]
    fake_db.media = {m.id: m for m in rows}
    for media in rows:
        with fake_db.uow() as uow:
            media.etag = '"e"'
            uow.outbox.add(ProcessingJob.for_media(f"job-{media.id}", media, NOW))
            uow.commit()
    fake_db.sent_at = {"job-m-0": NOW - timedelta(hours=25), "job-m-1": NOW - timedelta(hours=1)}

    report = cleanup(fake_db, memory_storage, outbox_retention_hours=24).run()

    assert report.outbox_rows_deleted == 1
    assert [job.job_id for job in fake_db.published] == ["job-m-1", "job-m-2"]
