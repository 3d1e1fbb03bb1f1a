"""The retry middleware: delays per attempt, never-retried errors, dead letters."""

from __future__ import annotations

import logging

import pytest

from media_grpc.domain.model import FailureReason, JobKind, Status
from media_grpc.domain.stage import MediaRejected
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.job_handlers import FlakyStage, MakeFlakyJob, MakeHandler
from tests.unit.uploaded_media import png_bytes, uploaded
from workers.retries import Action, RetryMiddleware
from workers.stage_registry import BoundStage

DELAYS = (10.0, 60.0, 600.0)


class Timeout(Exception):
    pass


def test_transient_error_is_retried_with_the_delay_of_its_attempt(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, _, handler = flaky_job(failures=2, error=ConnectionError("s3 blip"))
    middleware = RetryMiddleware(handler, DELAYS)

    first = middleware.process(job, attempt=1)
    second = middleware.process(job, attempt=first.attempt)
    third = middleware.process(job, attempt=second.attempt)

    assert (first.action, first.attempt, first.retry_index) == (Action.RETRY, 2, 0)
    assert (second.action, second.attempt, second.retry_index) == (Action.RETRY, 3, 1)
    assert third.action is Action.ACK
    assert fake_db.media[job.media_id].status is Status.READY


def test_error_on_the_last_attempt_parks_the_job_and_fails_the_media(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, _, handler = flaky_job(failures=99, error=RuntimeError("boom"))
    settlement = RetryMiddleware(handler, DELAYS).process(job, attempt=4)
    assert settlement.action is Action.DEAD
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.PROCESSING_ERROR
    assert media.failure.message.startswith("gave up after 4 attempts: processing could not")
    assert "boom" not in media.failure.message


def test_a_failure_message_names_no_host_url_path_or_exception_and_the_log_has_them(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    internal = RuntimeError(
        'Could not connect to the endpoint URL: "http://minio.internal:9000/media/originals/x"'
        " while reading /tmp/media-job-abc123/original"
    )
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=99, error=internal)
    with caplog.at_level(logging.WARNING, logger="workers.retries"):
        RetryMiddleware(make_handler(stage), DELAYS).process(job, attempt=4)
    failure = fake_db.media[job.media_id].failure
    assert failure is not None
    for internal_part in ("minio.internal", "http", "/tmp", "media-job", "RuntimeError"):
        assert internal_part not in failure.message
    logged = [r.getMessage() for r in caplog.records if job.job_id in r.getMessage()]
    assert any("minio.internal" in line and "media-job-abc123" in line for line in logged)


def test_a_rejection_message_loses_any_path_or_url_it_carries(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    rejected = MediaRejected(
        FailureReason.CORRUPT,
        "the video does not decode: Invalid data found when processing input: "
        "'/tmp/media-job-1e24ad3b/out/hls/360p/index.m3u8'",
    )
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=99, error=rejected)
    RetryMiddleware(make_handler(stage), DELAYS).process(job, attempt=1)
    failure = fake_db.media[job.media_id].failure
    assert failure is not None
    assert failure.message == "the video does not decode: Invalid data found when processing input"


def test_corrupt_file_fails_at_once_without_retries(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    settlement = RetryMiddleware(make_handler(), DELAYS).process(job, attempt=1)
    assert settlement.action is Action.DEAD
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.CORRUPT


def test_error_listed_as_never_retried_fails_at_once_with_its_reason(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, _, handler = flaky_job(failures=1, error=Timeout("300 s"))
    middleware = RetryMiddleware(handler, DELAYS, never_retried={Timeout: FailureReason.TIMEOUT})
    settlement = middleware.process(job, attempt=1)
    assert settlement.action is Action.DEAD
    failure = fake_db.media[job.media_id].failure
    assert failure is not None
    assert failure.reason is FailureReason.TIMEOUT


def test_busy_media_is_deferred_without_spending_an_attempt(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    handler = make_handler()
    with handler.locks.hold(job.media_id):
        settlement = RetryMiddleware(handler, DELAYS).process(job, attempt=2)
    assert (settlement.action, settlement.attempt, settlement.retry_index) == (Action.RETRY, 2, 0)


def test_job_whose_failure_cannot_be_recorded_is_retried_later_on_the_same_attempt(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    handler = make_handler()

    def database_down(*_args: object) -> None:
        raise ConnectionError("database restarting")

    handler.fail = database_down  # type: ignore[method-assign]
    settlement = RetryMiddleware(handler, DELAYS).process(job, attempt=2)
    assert (settlement.action, settlement.attempt, settlement.retry_index) == (Action.RETRY, 2, 0)
    assert fake_db.media[job.media_id].status is Status.PROCESSING
