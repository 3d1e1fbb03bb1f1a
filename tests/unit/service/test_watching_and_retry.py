"""WatchMedia and RetryProcessing through the service layer, with fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import FailedPrecondition, MediaNotFound, PermissionDenied
from media_grpc.domain.model import Failure, FailureReason, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.processing import ProcessingRetries
from media_grpc.service.watching import MediaWatching
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.pipeline.media_factory import png_bytes, uploaded

ALICE = Principal("alice")


def advance(db: FakeDatabase, media_id: str, status: Status, seconds: int) -> None:
    media = db.media[media_id]
    media.status = status
    media.updated_at = media.updated_at + timedelta(seconds=seconds)


def test_watch_yields_now_and_at_each_status_change_and_ends_at_ready(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    script = iter([(Status.UPLOADED, 0), (Status.PROCESSING, 1), (Status.PROCESSING, 1)])

    def sleep(_seconds: float) -> None:
        status, offset = next(script, (Status.READY, 5))
        if offset:
            advance(fake_db, job.media_id, status, offset)

    watching = MediaWatching(fake_ctx, poll_interval=0.0, sleep=sleep)
    seen = [m.status for m in watching.watch(ALICE, job.media_id, lambda: True)]
    assert seen == [Status.UPLOADED, Status.PROCESSING, Status.PROCESSING, Status.READY]


def test_watch_of_a_finished_media_yields_it_once(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].status = Status.FAILED
    watching = MediaWatching(fake_ctx, poll_interval=0.0)
    assert [m.status for m in watching.watch(ALICE, job.media_id, lambda: True)] == [Status.FAILED]


def test_watch_stops_when_the_client_goes_away(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    watching = MediaWatching(fake_ctx, poll_interval=0.0)
    assert len(list(watching.watch(ALICE, job.media_id, lambda: False))) == 1


def test_watch_ends_after_its_longest_life_so_streams_never_hold_a_thread_forever(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    watching = MediaWatching(
        fake_ctx, poll_interval=1.0, max_seconds=10.0, sleep=sleep, clock=lambda: now[0]
    )
    assert len(list(watching.watch(ALICE, job.media_id, lambda: True))) == 1
    assert now[0] == 10.0


def test_watch_of_another_users_media_is_denied(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    with pytest.raises(PermissionDenied):
        next(MediaWatching(fake_ctx).watch(Principal("bob"), job.media_id, lambda: True))
    with pytest.raises(MediaNotFound):
        next(MediaWatching(fake_ctx).watch(ALICE, "nope", lambda: True))


def test_retry_requeues_a_media_whose_processing_failed(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    media = fake_db.media[job.media_id]
    media.status = Status.FAILED
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "gave up")
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
    job = uploaded(fake_db, memory_storage, png_bytes())
    media = fake_db.media[job.media_id]
    media.status = status
    media.failure = Failure(reason, "x") if reason else None
    with pytest.raises(FailedPrecondition):
        ProcessingRetries(fake_ctx).retry(ALICE, job.media_id)
    assert fake_db.published == []


def test_a_timeout_is_retried_only_after_the_time_limit_was_raised(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    media = fake_db.media[job.media_id]
    media.status = Status.FAILED
    media.failure = Failure(FailureReason.TIMEOUT, "the job ran longer than 60 s")
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
    job = uploaded(fake_db, memory_storage, png_bytes())
    media = fake_db.media[job.media_id]
    media.status = Status.FAILED
    media.failure = Failure(FailureReason.TIMEOUT, "stopped")
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
