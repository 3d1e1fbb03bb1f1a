"""The retry middleware: delays per attempt, never-retried errors, dead letters."""

from __future__ import annotations

from collections.abc import Callable

from media_grpc.domain.model import FailureReason, JobKind, Status
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.pipeline.conftest import FlakyStage
from tests.unit.pipeline.media_factory import png_bytes, uploaded
from workers.job_handler import JobHandler
from workers.retries import Action, RetryMiddleware
from workers.stage_registry import BoundStage

MakeHandler = Callable[..., JobHandler]
DELAYS = (10.0, 60.0, 600.0)


class Timeout(Exception):
    pass


def test_transient_error_is_retried_with_the_delay_of_its_attempt(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=2, error=ConnectionError("s3 blip"))
    middleware = RetryMiddleware(make_handler(stage), DELAYS)

    first = middleware.process(job, attempt=1)
    second = middleware.process(job, attempt=first.attempt)
    third = middleware.process(job, attempt=second.attempt)

    assert (first.action, first.attempt, first.retry_index) == (Action.RETRY, 2, 0)
    assert (second.action, second.attempt, second.retry_index) == (Action.RETRY, 3, 1)
    assert third.action is Action.ACK
    assert fake_db.media[job.media_id].status is Status.READY


def test_error_on_the_last_attempt_parks_the_job_and_fails_the_media(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=99, error=RuntimeError("boom"))
    settlement = RetryMiddleware(make_handler(stage), DELAYS).process(job, attempt=4)
    assert settlement.action is Action.DEAD
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.PROCESSING_ERROR
    assert "gave up after 4 attempts: RuntimeError: boom" in media.failure.message


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
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=1, error=Timeout("300 s"))
    middleware = RetryMiddleware(
        make_handler(stage), DELAYS, never_retried={Timeout: FailureReason.TIMEOUT}
    )
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
