"""RetryProcessing through the service layer, with fakes (WatchMedia: test_watching.py)."""

from __future__ import annotations

import pytest

from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.retry_processing import ProcessingRetries
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.uploaded_media import png_bytes, uploaded

ALICE = Principal("alice")


def settled(
    db: FakeDatabase, storage: InMemoryBlobStorage, status: Status, failure: Failure | None
) -> tuple[ProcessingJob, Media]:
    """A PNG's media whose processing ended in ``status`` (with ``failure``), and its job."""
    job = uploaded(db, storage, png_bytes())
    media = db.media[job.media_id]
    media.status = status
    media.failure = failure
    return job, media


def test_retry_requeues_a_media_whose_processing_failed(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job, media = settled(
        fake_db, memory_storage, Status.FAILED, Failure(FailureReason.PROCESSING_ERROR, "gave up")
    )
    retried = ProcessingRetries(fake_ctx).retry(ALICE, job.media_id)
    assert retried.status is Status.UPLOADED
    assert retried.failure is None
    [queued] = fake_db.published
    assert queued.media_id == job.media_id
    assert queued.job_id != job.job_id
    assert queued.etag == media.etag


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.READY, None),
        (Status.PROCESSING, None),
        (Status.FAILED, FailureReason.CORRUPT),
        (Status.FAILED, FailureReason.SIZE_MISMATCH),
    ],
)
def test_retry_of_a_media_that_would_fail_the_same_way_is_refused(
    fake_ctx: ServiceContext,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    status: Status,
    reason: FailureReason | None,
) -> None:
    job, _ = settled(fake_db, memory_storage, status, Failure(reason, "x") if reason else None)
    with pytest.raises(FailedPrecondition):
        ProcessingRetries(fake_ctx).retry(ALICE, job.media_id)
    assert fake_db.published == []


def test_a_timeout_is_retried_only_after_the_time_limit_was_raised(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job, media = settled(
        fake_db,
        memory_storage,
        Status.FAILED,
        Failure(FailureReason.TIMEOUT, "the job ran longer than 60 s"),
    )
    limit = {"seconds": 60.0}
    retries = ProcessingRetries(fake_ctx, time_limit=lambda _purpose: limit["seconds"])
    for _ in range(2):
        with pytest.raises(FailedPrecondition, match="TIMEOUT under a limit of 60 s"):
            retries.retry(ALICE, job.media_id)
    assert fake_db.published == []
    limit["seconds"] = 120.0
    assert retries.retry(ALICE, job.media_id).status is Status.UPLOADED
    media = fake_db.media[job.media_id]
    media.status = Status.FAILED
    media.failure = Failure(FailureReason.TIMEOUT, "the job ran longer than 120 s")
    with pytest.raises(FailedPrecondition, match="under a limit of 120 s"):
        retries.retry(ALICE, job.media_id)


def test_a_timeout_without_a_time_limit_configured_is_final(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job, _ = settled(
        fake_db, memory_storage, Status.FAILED, Failure(FailureReason.TIMEOUT, "stopped")
    )
    with pytest.raises(FailedPrecondition):
        ProcessingRetries(fake_ctx).retry(ALICE, job.media_id)


def test_retries_per_media_are_capped_and_counted(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    retries = ProcessingRetries(fake_ctx, LimitSettings(max_retries_per_media=2))
    for _ in range(2):
        media = fake_db.media[job.media_id]
        media.status = Status.FAILED
        media.failure = Failure(FailureReason.PROCESSING_ERROR, "gave up")
        retries.retry(ALICE, job.media_id)
    media = fake_db.media[job.media_id]
    media.status = Status.FAILED
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "gave up")
    with pytest.raises(FailedPrecondition, match="retried 2 times"):
        retries.retry(ALICE, job.media_id)
    assert len(fake_db.published) == 2
