"""Job metrics and the per-job log line, around the real retry middleware and handler."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from media_grpc.domain.model import JobKind
from media_grpc.observability.logs import JsonFormatter
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.log_capture import captured
from tests.unit.job_handlers import FlakyStage, MakeFlakyJob, MakeHandler
from tests.unit.uploaded_media import png_bytes, uploaded
from workers.metered import MeteredRetryMiddleware, count_published
from workers.retries import Action
from workers.stage_registry import BoundStage


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def job_log() -> Iterator[io.StringIO]:
    with captured("media_grpc.jobs", JsonFormatter()) as out:
        yield out


def test_a_retried_then_successful_job_is_counted_and_logged_once_per_delivery(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    job_log: io.StringIO,
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    stage = FlakyStage(real_stages[JobKind.IMAGE], failures=1, error=ConnectionError("blip"))
    middleware = MeteredRetryMiddleware(make_handler(stage), (1.0, 2.0))
    before = (
        sample("media_jobs_retried_total", kind="image"),
        sample("media_jobs_consumed_total", kind="image", result="success"),
        sample("media_processing_duration_seconds_count", kind="image", result="success"),
    )

    first = middleware.process(job, attempt=1)
    second = middleware.process(job, attempt=first.attempt)

    assert (first.action, second.action) == (Action.RETRY, Action.ACK)
    after = (
        sample("media_jobs_retried_total", kind="image"),
        sample("media_jobs_consumed_total", kind="image", result="success"),
        sample("media_processing_duration_seconds_count", kind="image", result="success"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
    lines = [json.loads(line) for line in job_log.getvalue().splitlines()]
    mine = [line for line in lines if line["message"] == "job"]
    assert [(line["outcome"], line["attempt"]) for line in mine] == [("retry", 1), ("success", 2)]
    assert {line["media_id"] for line in mine} == {job.media_id}
    assert {line["job_id"] for line in mine} == {job.job_id}


def test_a_job_given_up_on_is_counted_failed_and_dead_lettered(
    flaky_job: MakeFlakyJob, fake_db: FakeDatabase
) -> None:
    job, _, handler = flaky_job(failures=9, error=RuntimeError("boom"))
    before = sample("media_jobs_dead_lettered_total", kind="image")
    failed_before = sample("media_jobs_consumed_total", kind="image", result="failed")

    settlement = MeteredRetryMiddleware(handler, (1.0,)).process(job, attempt=2)

    assert settlement.action is Action.DEAD
    assert sample("media_jobs_dead_lettered_total", kind="image") == before + 1
    assert sample("media_jobs_consumed_total", kind="image", result="failed") == failed_before + 1


def test_the_relay_hook_counts_each_published_job_by_kind(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    before = sample("media_jobs_published_total", kind="image")

    count_published(job)

    assert sample("media_jobs_published_total", kind="image") == before + 1
