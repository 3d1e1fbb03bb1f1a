"""The worker side of a processing job: binds the stages to the use case.

What a job does (claim, freeze, read, stage, record or discard) is the service's
``MediaProcessing``; the transport (consume, ack, retry routing) calls ``handle`` and ``fail``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path

from media_grpc.adapters.job_locks import JobLocks
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, JobKind
from media_grpc.domain.stage import StageJob, StageResult
from media_grpc.service.context import ServiceContext
from media_grpc.service.process_media import Handled, JobDisagrees, MediaProcessing
from workers.stage_registry import BoundStage

__all__ = ["Handled", "JobDisagrees", "JobHandler"]


class JobHandler:
    """Parameters:
    ctx, locks: passed on to ``MediaProcessing`` (service/process_media.py).
    stages: the stage for each job kind, settings bound (looked up at each job).
    """

    def __init__(
        self,
        ctx: ServiceContext,
        locks: JobLocks,
        stages: MutableMapping[JobKind, BoundStage],
    ) -> None:
        self.stages = stages
        self.locks = locks
        self.processing = MediaProcessing(ctx, locks, self._run_stage)

    def handle(self, job: ProcessingJob) -> Handled:
        """Process the job; raises MediaRejected or JobDisagrees (never retried), or any
        error (retried)."""
        return self.processing.process(job)

    def fail(self, job: ProcessingJob, failure: Failure) -> None:
        """Remove what the failure left and mark the media FAILED, unless it moved on."""
        self.processing.fail(job, failure)

    def _run_stage(self, kind: JobKind, job: StageJob, source: Path, work_dir: Path) -> StageResult:
        return self.stages[kind](job, source, work_dir)
