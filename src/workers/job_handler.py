"""Runs one processing job: load, claim, download, stage, upload, record. Idempotent.

A redelivered job for a media already READY (or DELETED, or re-queued under a newer upload)
is skipped; outputs go to deterministic keys under the media's output prefix, so a retry
overwrites them; variants are replaced, never appended.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorageUnavailable
from media_grpc.adapters.job_locks import JobLocks
from media_grpc.domain import lifecycle
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import Failure, FailureReason, JobKind, Media, Status, Variant
from media_grpc.service import profile_images
from media_grpc.service.context import ServiceContext
from workers.stage import MediaRejected, StageJob, StageOutcome, StageResult
from workers.stage_registry import BoundStage

log = logging.getLogger(__name__)


class Handled(StrEnum):
    DONE = "done"
    #: Nothing to do: already READY, DELETED, or the job is stale.
    SKIPPED = "skipped"
    #: Another worker holds this media right now; deliver the job again later.
    BUSY = "busy"


class JobHandler:
    """Parameters:
    ctx: unit of work factory, storage and clock.
    locks: per-media locks (advisory locks on PostgreSQL).
    stages: the stage for each job kind, settings bound.
    stage_delay: seconds to sleep before the stage; tests only.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        locks: JobLocks,
        stages: Mapping[JobKind, BoundStage],
        *,
        stage_delay: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.locks = locks
        self.stages = stages
        self.stage_delay = stage_delay

    def _download_original(self, job: ProcessingJob, source: Path) -> None:
        """The original exactly as completion verified it; gone or replaced is final."""
        try:
            self.ctx.storage.download(job.storage_key, source, etag=job.etag or None)
        except BlobNotFound:
            raise MediaRejected(
                FailureReason.OBJECT_MISSING,
                "the original verified at completion is no longer in storage (deleted or "
                "overwritten); upload the file again",
            ) from None

    def handle(self, job: ProcessingJob) -> Handled:
        """Process the job; raises MediaRejected (never retried) or any error (retried)."""
        with self.locks.hold(job.media_id) as held:
            if not held:
                log.info("job %s: media %s is busy in another worker", job.job_id, job.media_id)
                return Handled.BUSY
            if not self._claim(job):
                return Handled.SKIPPED
            log.info("job %s: running %s stage for media %s", job.job_id, job.kind, job.media_id)
            with tempfile.TemporaryDirectory(prefix="media-job-") as tmp:
                source, work_dir = Path(tmp) / "original", Path(tmp) / "out"
                work_dir.mkdir()
                self._download_original(job, source)
                if self.stage_delay:
                    time.sleep(self.stage_delay)
                result = self.stages[job.kind](_stage_job(job), source, work_dir)
                if result.outcome is StageOutcome.FAILED and result.failure is not None:
                    raise MediaRejected(result.failure.reason, result.failure.message)
                prefix = output_prefix(job.storage_key, video=job.kind is JobKind.VIDEO)
                for obj in result.objects:
                    self.ctx.storage.upload_file(
                        obj.path,
                        prefix + obj.key,
                        content_type=obj.content_type,
                        cache_control=obj.cache_control,
                    )
            return Handled.DONE if self._record(job, prefix, result) else Handled.SKIPPED

    def fail(self, job: ProcessingJob, failure: Failure) -> None:
        """Mark the media FAILED, unless it moved on (READY, DELETED, a newer upload)."""
        with self.ctx.uow() as uow:
            media = uow.media.get(job.media_id, for_update=True)
            if media is None or _is_stale(job, media) or media.status not in _RUNNABLE:
                return
            lifecycle.mark_failed(media, failure, self.ctx.now())
            uow.media.save(media)
            uow.commit()
        log.warning("job %s: media %s FAILED %s", job.job_id, job.media_id, failure.reason)

    def _claim(self, job: ProcessingJob) -> bool:
        with self.ctx.uow() as uow:
            media = uow.media.get(job.media_id, for_update=True)
            if media is None or _is_stale(job, media) or media.status not in _RUNNABLE:
                status = media.status if media else "missing"
                log.info("job %s: media %s is %s, nothing to do", job.job_id, job.media_id, status)
                return False
            lifecycle.move(media, Status.PROCESSING, self.ctx.now())
            uow.media.save(media)
            uow.commit()
            return True

    def _record(self, job: ProcessingJob, prefix: str, result: StageResult) -> bool:
        with self.ctx.uow() as uow:
            profile_images.hold_owner(uow, job.purpose, job.owner_id, self.ctx.now())
            media = uow.media.get(job.media_id, for_update=True)
            deleted = media is None or media.status is Status.DELETED
            if media is not None and not deleted:
                if _is_stale(job, media) or media.status is not Status.PROCESSING:
                    return False
                media.variants = [_absolute(v, prefix) for v in result.variants]
                media.width, media.height = result.width, result.height
                media.duration_ms = result.duration_ms
                media.metadata = dict(result.metadata)
                media.hls_key = prefix + result.hls_key if result.hls_key else None
                media.failure = None
                lifecycle.move(media, Status.READY, self.ctx.now())
                profile_images.make_current(uow, self.ctx.storage, media, self.ctx.now())
                uow.media.save(media)
                uow.commit()
        if deleted:
            self._discard_outputs(job, prefix)
            return False
        log.info("job %s: media %s READY", job.job_id, job.media_id)
        return True

    def _discard_outputs(self, job: ProcessingJob, prefix: str) -> None:
        """The media was deleted (or purged) while the stage ran, so what this job uploaded
        belongs to nothing: remove the output prefix. If storage fails, the job is still
        skipped (a retry would find DELETED and do nothing); the retention purge of the
        DELETED record deletes the prefix again."""
        log.info(
            "job %s: media %s was deleted meanwhile; removing outputs", job.job_id, job.media_id
        )
        try:
            self.ctx.storage.delete_prefix(prefix)
        except BlobStorageUnavailable as e:
            log.warning("job %s: outputs under %s left for the cleanup: %s", job.job_id, prefix, e)


_RUNNABLE = frozenset({Status.UPLOADED, Status.PROCESSING})


def _is_stale(job: ProcessingJob, media: Media) -> bool:
    """A job for content other than the media's current original."""
    return bool(job.etag) and media.etag is not None and media.etag != job.etag


def _absolute(variant: Variant, prefix: str) -> Variant:
    return replace(variant, storage_key=prefix + variant.storage_key)


def _stage_job(job: ProcessingJob) -> StageJob:
    return StageJob(
        media_id=job.media_id,
        owner_id=job.owner_id,
        purpose=job.purpose,
        mime_type=job.mime_type,
        storage_key=job.storage_key,
    )
