"""The job handler with fakes: status changes, deterministic outputs, idempotence."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from media_grpc.adapters.blob_storage import ObjectInfo
from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.adapters.job_locks import InProcessJobLocks
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.keys import frozen_original_key, output_prefix
from media_grpc.domain.model import Failure, FailureReason, JobKind, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.domain.stage import StageJob, StageResult
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.job_handlers import FlakyStage, MakeHandler, thumbnail_stages
from tests.unit.uploaded_media import png_bytes, uploaded
from workers.job_handler import Handled, JobHandler
from workers.retries import Action, RetryMiddleware


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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("etag", '"another-upload"'),
        ("storage_key", "uploads/posts/mallory/x.png"),
        ("purpose", Purpose.PROFILE_IMAGE),
        ("owner_id", "mallory"),
        ("version_id", "v9"),
    ],
)
def test_job_whose_message_disagrees_with_the_record_is_dead_lettered_and_changes_nothing(
    make_handler: MakeHandler,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    field: str,
    value: object,
) -> None:
    job = replace(uploaded(fake_db, memory_storage, png_bytes()), **{field: value})
    before = dict(memory_storage.objects)

    settlement = RetryMiddleware(make_handler(), [10.0]).process(job, attempt=1)

    assert settlement.action is Action.DEAD
    assert settlement.failure is None
    assert field in settlement.note and "disagrees" in settlement.note
    media = fake_db.media[job.media_id]
    assert media.status is Status.UPLOADED
    assert media.failure is None
    assert memory_storage.objects == before
    assert memory_storage.copies == []


def test_the_job_reads_key_and_etag_from_the_record_and_freezes_a_private_copy(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    assert make_handler().handle(job) is Handled.DONE
    media = fake_db.media[job.media_id]
    frozen = frozen_original_key(media.storage_key)
    assert memory_storage.copies == [(media.storage_key, frozen, media.etag, None)]
    assert media.storage_key not in memory_storage.objects
    assert memory_storage.objects[frozen].data == png_bytes()


def test_a_retry_after_the_freeze_processes_the_frozen_copy_not_a_later_put(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler(FlakyStage(thumbnail_stages()[JobKind.IMAGE], 1, OSError("disk")))
    with pytest.raises(OSError):
        handler.handle(job)
    memory_storage.put(job.storage_key, png_bytes(8, 8), "image/png")  # a late PUT

    assert handler.handle(job) is Handled.DONE
    media = fake_db.media[job.media_id]
    assert (media.width, media.height) == (320, 200)
    assert job.storage_key not in memory_storage.objects


def test_a_declared_sha256_that_differs_fails_with_checksum_mismatch_and_leaves_nothing(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].sha256 = "0" * 64

    settlement = RetryMiddleware(make_handler(), [10.0]).process(job, attempt=1)

    assert settlement.action is Action.DEAD
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.CHECKSUM_MISMATCH
    assert hashlib.sha256(png_bytes()).hexdigest() in media.failure.message
    assert memory_storage.objects == {}


def test_a_declared_sha256_that_matches_reaches_ready(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].sha256 = hashlib.sha256(png_bytes()).hexdigest()
    assert make_handler().handle(job) is Handled.DONE
    assert fake_db.media[job.media_id].status is Status.READY


def test_a_retryable_failure_keeps_only_the_private_frozen_original(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler(FlakyStage(thumbnail_stages()[JobKind.IMAGE], 9, OSError("disk")))

    settlement = RetryMiddleware(handler, []).process(job, attempt=1)

    assert settlement.action is Action.DEAD
    assert fake_db.media[job.media_id].status is Status.FAILED
    assert list(memory_storage.objects) == [frozen_original_key(job.storage_key)]


def test_fail_marks_the_media_failed_with_reason_and_message_and_deletes_every_object(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    memory_storage.put(frozen_original_key(job.storage_key), png_bytes(), "image/png")
    memory_storage.put(output_prefix(job.storage_key, video=False) + "w600.webp", b"partial")
    make_handler().fail(job, Failure(FailureReason.CORRUPT, "broken"))
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure == Failure(FailureReason.CORRUPT, "broken")
    assert memory_storage.objects == {}


def test_fail_leaves_a_ready_media_ready(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler()
    handler.handle(job)
    handler.fail(job, Failure(FailureReason.PROCESSING_ERROR, "late"))
    assert fake_db.media[job.media_id].status is Status.READY


ALICE = Principal("alice")


class DeletingStage:
    """Runs the thumbnail stage, then deletes the media as DeleteMedia does meanwhile."""

    def __init__(self, deletion: MediaDeletion, media_id: str, owner: Principal = ALICE) -> None:
        self.deletion = deletion
        self.media_id = media_id
        self.owner = owner

    def __call__(self, job: StageJob, source: Path, work_dir: Path) -> StageResult:
        result = thumbnail_stages()[JobKind.IMAGE](job, source, work_dir)
        self.deletion.delete(self.owner, self.media_id)
        return result


@pytest.fixture
def deleted_meanwhile(
    make_handler: MakeHandler,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    fake_ctx: ServiceContext,
) -> tuple[ProcessingJob, JobHandler]:
    """The job of an uploaded image, and a handler whose stage deletes the media as it runs."""
    job = uploaded(fake_db, memory_storage, png_bytes())
    return job, make_handler(DeletingStage(MediaDeletion(fake_ctx), job.media_id))


def test_job_for_a_media_deleted_during_processing_is_skipped_and_its_outputs_removed(
    deleted_meanwhile: tuple[ProcessingJob, JobHandler],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    job, handler = deleted_meanwhile
    assert handler.handle(job) is Handled.SKIPPED
    assert fake_db.media[job.media_id].status is Status.DELETED
    assert memory_storage.list_keys(output_prefix(job.storage_key, video=False)) == []
    assert memory_storage.objects == {}


def test_deleted_media_job_settles_as_an_ack_not_a_retry(
    deleted_meanwhile: tuple[ProcessingJob, JobHandler], fake_db: FakeDatabase
) -> None:
    job, handler = deleted_meanwhile
    settlement = RetryMiddleware(handler, [10.0]).process(job, attempt=1)
    assert settlement.action is Action.ACK
    assert fake_db.media[job.media_id].failure is None


def test_job_whose_original_is_gone_fails_at_once_with_object_missing(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    memory_storage.delete([job.storage_key])
    settlement = RetryMiddleware(make_handler(), [10.0, 60.0]).process(job, attempt=1)
    assert settlement.action is Action.DEAD
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.OBJECT_MISSING


class DeletingCopyStorage(InMemoryBlobStorage):
    """Storage whose copy is answered just after DeleteMedia ran (between freeze and claim)."""

    def __init__(self, on_copy: Callable[[], object]) -> None:
        super().__init__()
        self.on_copy = on_copy

    def copy(self, source: str, target: str, *, pinned: ObjectInfo) -> None:
        super().copy(source, target, pinned=pinned)
        self.on_copy()


def test_a_media_deleted_while_its_original_was_frozen_keeps_no_frozen_copy(
    fake_db: FakeDatabase, fake_ctx: ServiceContext
) -> None:
    storage = DeletingCopyStorage(lambda: MediaDeletion(fake_ctx).delete(ALICE, "m-1"))
    fake_ctx.storage = storage
    job = uploaded(fake_db, storage, png_bytes())
    handler = JobHandler(fake_ctx, InProcessJobLocks(), thumbnail_stages())

    assert handler.handle(job) is Handled.SKIPPED
    assert fake_db.media[job.media_id].status is Status.DELETED
    assert storage.objects == {}


def test_an_attempt_that_meets_an_unavailable_database_runs_again_in_place(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(thumbnail_stages()[JobKind.IMAGE], 3, DatabaseUnavailable())
    slept: list[float] = []
    middleware = RetryMiddleware(make_handler(stage), [10.0], sleep=slept.append)

    settlement = middleware.process(job, attempt=1)

    assert (settlement.action, settlement.attempt) == (Action.ACK, 1)
    assert slept == [0.25, 0.5, 1.0]
    assert fake_db.media[job.media_id].status is Status.READY


def test_a_database_away_longer_than_the_outage_window_takes_the_usual_retry(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(thumbnail_stages()[JobKind.IMAGE], 99, DatabaseUnavailable())
    middleware = RetryMiddleware(make_handler(stage), [10.0], outage_seconds=0.0)

    settlement = middleware.process(job, attempt=1)

    assert (settlement.action, settlement.attempt, settlement.retry_index) == (Action.RETRY, 2, 0)
    assert stage.calls == 1
