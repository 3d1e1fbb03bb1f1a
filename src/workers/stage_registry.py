"""Which stage runs for which job kind: the one place to swap in another stage."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from media_grpc.config import Settings
from media_grpc.domain.model import JobKind
from workers.stage import StageJob, StageResult
from workers.stages import generate_image_variants, process_video

#: A stage with its settings bound: ``stage(job, source_path, work_dir) -> StageResult``.
BoundStage = Callable[[StageJob, Path, Path], StageResult]


def stages(settings: Settings) -> dict[JobKind, BoundStage]:
    return {
        JobKind.IMAGE: partial(generate_image_variants.run, settings=settings.image),
        JobKind.VIDEO: partial(process_video.run_limited, settings=settings.video),
    }
