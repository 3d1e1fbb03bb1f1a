"""A job handler on fakes: FakeDatabase, InMemoryBlobStorage, in-process locks, and the
thumbnail stage (not the registry's choice, so these tests pin the transport, not a stage).

Its fixtures are registered in tests/unit/conftest.py: the use case's tests (service/) and the
transport's (workers/) share them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pytest

from media_grpc.adapters.job_locks import InProcessJobLocks
from media_grpc.config.image import ImageSettings
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind
from media_grpc.domain.stage import StageJob, StageResult
from media_grpc.service.context import ServiceContext
from tests import thumbnail_stage
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.unit.uploaded_media import NOW, png_bytes, uploaded
from workers.job_handler import JobHandler
from workers.stage_registry import BoundStage


class FlakyStage:
    """Raises ``error`` for the first ``failures`` calls, then runs ``stage``."""

    def __init__(self, stage: BoundStage, failures: int, error: Exception) -> None:
        self.stage = stage
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, job: StageJob, source: Path, work_dir: Path) -> StageResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.stage(job, source, work_dir)


def thumbnail_stages() -> dict[JobKind, BoundStage]:
    return {JobKind.IMAGE: partial(thumbnail_stage.run, settings=ImageSettings())}


@pytest.fixture
def real_stages() -> dict[JobKind, BoundStage]:
    return thumbnail_stages()


@pytest.fixture
def make_handler(fake_ctx: ServiceContext) -> Callable[..., JobHandler]:
    fake_ctx.now = lambda: NOW

    def build(stage: BoundStage | None = None) -> JobHandler:
        registry = thumbnail_stages()
        if stage is not None:
            registry[JobKind.IMAGE] = stage
        return JobHandler(fake_ctx, InProcessJobLocks(), registry)

    return build


#: ``make_handler(stage=None)``: a job handler whose IMAGE stage is ``stage`` (else the thumbnail).
MakeHandler = Callable[..., JobHandler]


class FlakyJob(NamedTuple):
    """An UPLOADED PNG's job, the flaky stage it will meet and the handler running that stage."""

    job: ProcessingJob
    stage: FlakyStage
    handler: JobHandler


#: ``flaky_job(failures=N, error=E)``: see the ``flaky_job`` fixture.
MakeFlakyJob = Callable[..., FlakyJob]


@pytest.fixture
def flaky_job(
    make_handler: MakeHandler,
    real_stages: dict[JobKind, BoundStage],
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> MakeFlakyJob:
    """Builds the arrange block of the retry tests: a new UPLOADED PNG, and a handler whose
    thumbnail stage raises ``error`` for its first ``failures`` calls."""

    def build(*, failures: int, error: Exception) -> FlakyJob:
        job = uploaded(fake_db, memory_storage, png_bytes())
        stage = FlakyStage(real_stages[JobKind.IMAGE], failures=failures, error=error)
        return FlakyJob(job, stage, make_handler(stage))

    return build
