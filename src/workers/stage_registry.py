"""Which stage runs for which job kind: the one place to swap in another stage."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from media_grpc.config import Settings
from media_grpc.domain.model import FailureReason, JobKind
from workers.stage import MediaRejected, StageJob, StageResult
from workers.stages import make_thumbnail

#: A stage with its settings bound: ``stage(job, source_path, work_dir) -> StageResult``.
BoundStage = Callable[[StageJob, Path, Path], StageResult]


def _no_video_stage(job: StageJob, source_path: Path, work_dir: Path) -> StageResult:
    raise MediaRejected(FailureReason.UNSUPPORTED_FORMAT, "this build has no video stage")


def stages(settings: Settings) -> dict[JobKind, BoundStage]:
    return {
        JobKind.IMAGE: partial(make_thumbnail.run, settings=settings.image),
        JobKind.VIDEO: _no_video_stage,
    }
