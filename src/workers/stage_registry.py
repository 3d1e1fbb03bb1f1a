"""Which stage runs for which job kind, and how: the one place to swap in another stage.

Every stage runs in a warm child of the ``StagePool`` under its kind's wall-clock limit
(``MEDIA_IMAGE__JOB_TIME_LIMIT_SECONDS``, ``MEDIA_VIDEO__JOB_TIME_LIMIT_SECONDS``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_grpc.config import Settings
from media_grpc.domain.model import JobKind
from media_grpc.domain.stage import StageJob, StageResult
from workers.stage_pool import StagePool
from workers.stages import generate_image_variants, process_video

#: A stage with its settings bound: ``stage(job, source_path, work_dir) -> StageResult``.
BoundStage = Callable[[StageJob, Path, Path], StageResult]


@dataclass(frozen=True)
class TimeLimitedStage:
    """``stage(job, source_path, work_dir, settings)`` in a pool child, killed after ``seconds``.

    Raises what the pool raises (MediaRejected, TimeLimitExceeded, StageCrashed); on any of
    them whatever the stage wrote under ``work_dir`` is removed, so nothing half-written can
    be uploaded or referenced.
    """

    pool: StagePool
    stage: Callable[..., StageResult]
    settings: Any
    seconds: float

    def __call__(self, job: StageJob, source_path: Path, work_dir: Path) -> StageResult:
        try:
            return self.pool.run(
                self.stage, job, source_path, work_dir, self.settings, seconds=self.seconds
            )
        except BaseException:
            remove_contents(work_dir)
            raise


def remove_contents(directory: Path) -> None:
    """Delete everything under ``directory`` (which stays, empty)."""
    for path in directory.iterdir() if directory.is_dir() else ():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def stage_pool(settings: Settings) -> StagePool:
    """A pool with one child per job thread, recycled as the pipeline settings say."""
    pipeline = settings.pipeline
    return StagePool(
        pipeline.worker_threads,
        max_jobs=pipeline.stage_child_max_jobs,
        max_rss_bytes=pipeline.stage_child_max_rss_mb << 20,
    )


def stages(settings: Settings, pool: StagePool) -> dict[JobKind, BoundStage]:
    return {
        JobKind.IMAGE: TimeLimitedStage(
            pool,
            generate_image_variants.run,
            settings.image,
            settings.image.job_time_limit_seconds,
        ),
        JobKind.VIDEO: TimeLimitedStage(
            pool, process_video.run, settings.video, settings.video.job_time_limit_seconds
        ),
    }
