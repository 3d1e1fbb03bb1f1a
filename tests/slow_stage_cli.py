"""`media-grpc` whose stages first sleep ``TEST_STAGE_DELAY_SECONDS``: a test-only stage for the
process tests (a worker or server killed or stopped mid-job), so that the service's settings
carry no test hook.

Run it as ``python -m tests.slow_stage_cli worker`` (any media-grpc command) from the
repository root; ``command()`` builds that argv.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from media_grpc import cli, pipeline_bootstrap
from media_grpc.config import Settings
from media_grpc.domain.model import JobKind
from media_grpc.domain.stage import StageJob, StageResult
from workers.stage_pool import StagePool
from workers.stage_registry import BoundStage, stages

#: Seconds each stage sleeps before it runs.
DELAY_ENV = "TEST_STAGE_DELAY_SECONDS"
ROOT = Path(__file__).resolve().parent.parent


def command(*args: str) -> list[str]:
    """The argv of ``media-grpc *args`` with slow stages (run it with ``cwd=ROOT``)."""
    return [sys.executable, "-m", "tests.slow_stage_cli", *args]


def slowed(stage: BoundStage, delay: float) -> BoundStage:
    def run(job: StageJob, source: Path, work_dir: Path) -> StageResult:
        time.sleep(delay)
        return stage(job, source, work_dir)

    return run


def slow_stages(settings: Settings, pool: StagePool) -> dict[JobKind, BoundStage]:
    delay = float(os.environ.get(DELAY_ENV, "0"))
    return {kind: slowed(stage, delay) for kind, stage in stages(settings, pool).items()}


if __name__ == "__main__":
    pipeline_bootstrap.stages = slow_stages
    sys.exit(cli.main())
