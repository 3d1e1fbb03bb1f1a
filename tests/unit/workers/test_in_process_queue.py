"""The embedded default's queue: same handler, same retry semantics, a dead-letter list."""

from __future__ import annotations

import time

import pytest

from media_grpc.adapters.job_publisher import PublishFailed
from media_grpc.domain.model import FailureReason, Status
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.job_handlers import MakeFlakyJob, MakeHandler
from tests.unit.uploaded_media import png_bytes, uploaded
from workers.in_process_queue import InProcessQueue
from workers.retries import RetryMiddleware

SHORT_DELAYS = (0.05, 0.1)


def test_published_job_runs_on_the_pool_and_the_media_becomes_ready(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    queue = InProcessQueue(RetryMiddleware(make_handler(), SHORT_DELAYS))
    queue.publish(job)
    assert queue.join(timeout=10)
    queue.close()
    assert fake_db.media[job.media_id].status is Status.READY
    assert queue.dead == []


def test_transient_failures_are_retried_after_their_delays_until_success(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, stage, handler = flaky_job(failures=2, error=ConnectionError("blip"))
    queue = InProcessQueue(RetryMiddleware(handler, SHORT_DELAYS))
    started = time.monotonic()
    queue.publish(job)
    assert queue.join(timeout=10)
    queue.close()
    assert stage.calls == 3
    assert time.monotonic() - started >= sum(SHORT_DELAYS)
    assert fake_db.media[job.media_id].status is Status.READY


def test_job_failing_every_attempt_lands_in_the_dead_list_and_fails_the_media(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, stage, handler = flaky_job(failures=99, error=ConnectionError("down"))
    queue = InProcessQueue(RetryMiddleware(handler, SHORT_DELAYS))
    queue.publish(job)
    assert queue.join(timeout=10)
    queue.close()
    assert stage.calls == len(SHORT_DELAYS) + 1
    [dead] = queue.dead
    assert dead.job == job
    assert dead.attempt == 3
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is FailureReason.PROCESSING_ERROR


def test_closed_queue_refuses_jobs_so_the_outbox_keeps_them(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    queue = InProcessQueue(RetryMiddleware(make_handler(), SHORT_DELAYS))
    queue.close()
    with pytest.raises(PublishFailed):
        queue.publish(job)
