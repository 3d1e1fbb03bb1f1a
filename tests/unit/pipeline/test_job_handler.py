"""The job handler with fakes: status changes, deterministic outputs, idempotence."""

from __future__ import annotations

from collections.abc import Callable

from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import Failure, FailureReason, Status
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.pipeline.media_factory import png_bytes, uploaded
from workers.job_handler import Handled, JobHandler

MakeHandler = Callable[..., JobHandler]


def test_uploaded_image_becomes_ready_with_a_thumbnail_under_its_output_prefix(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes(300, 150))
    assert make_handler().handle(job) is Handled.DONE
    media = fake_db.media[job.media_id]
    prefix = output_prefix(job.storage_key, video=False)
    assert media.status is Status.READY
    assert (media.width, media.height) == (300, 150)
    assert [v.storage_key for v in media.variants] == [prefix + "thumb.webp"]
    stored = memory_storage.objects[prefix + "thumb.webp"]
    assert stored.content_type == "image/webp"
    assert "immutable" in stored.cache_control


def test_redelivered_job_for_a_ready_media_is_skipped_without_work(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler()
    handler.handle(job)
    commits = fake_db.commits
    assert handler.handle(job) is Handled.SKIPPED
    assert fake_db.commits == commits


def test_job_redelivered_while_processing_overwrites_outputs_and_keeps_one_variant_set(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].status = Status.PROCESSING  # a worker died mid-job
    assert make_handler().handle(job) is Handled.DONE
    media = fake_db.media[job.media_id]
    prefix = output_prefix(job.storage_key, video=False)
    assert media.status is Status.READY
    assert len(media.variants) == 1
    assert memory_storage.list_keys(prefix) == [prefix + "thumb.webp"]


def test_job_for_a_media_whose_lock_is_held_is_busy_and_changes_nothing(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler()
    with handler.locks.hold(job.media_id) as held:
        assert held
        assert handler.handle(job) is Handled.BUSY
    assert fake_db.media[job.media_id].status is Status.UPLOADED


def test_job_for_content_other_than_the_current_original_is_skipped(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].etag = '"another-upload"'
    assert make_handler().handle(job) is Handled.SKIPPED
    assert fake_db.media[job.media_id].status is Status.UPLOADED


def test_fail_marks_the_media_failed_with_reason_and_message(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    make_handler().fail(job, Failure(FailureReason.CORRUPT, "broken"))
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure == Failure(FailureReason.CORRUPT, "broken")


def test_fail_leaves_a_ready_media_ready(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler()
    handler.handle(job)
    handler.fail(job, Failure(FailureReason.PROCESSING_ERROR, "late"))
    assert fake_db.media[job.media_id].status is Status.READY
