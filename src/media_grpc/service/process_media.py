"""Processing one media: the use case behind every job, as CompleteUpload is behind its RPC.

Claim, freeze, read, run the stage, record or discard. The job message only names the media:
the storage key, ETag, VersionId and purpose are read from the database, and a message that
disagrees with the record is refused (``JobDisagrees``: dead-lettered, the media untouched).

Freezing: the job copies the upload, pinned to the ETag (and VersionId) completion recorded,
inside the bucket to ``originals/...``, a private key no URL was ever issued for, and deletes
the upload key. Everything after reads the frozen copy, so a PUT to a still-valid upload URL
changes nothing processed or served (the cleanup sweep removes what it wrote). The sha256 of
the frozen copy is computed while it is downloaded: a declared one must match it, and READY
records it as ``verified_sha256``, the only hash a later upload is deduplicated on.

Idempotent: a redelivered job for a media already READY (or DELETED) is skipped; outputs go to
deterministic keys under the media's output prefix, so a retry overwrites them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorageUnavailable, ObjectInfo
from media_grpc.adapters.job_directories import job_directory
from media_grpc.adapters.job_locks import JobLocks
from media_grpc.domain import lifecycle
from media_grpc.domain.audit import WORKER, AuditAction
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.keys import frozen_original_key, output_prefix
from media_grpc.domain.model import Failure, FailureReason, JobKind, Media, Status, Variant
from media_grpc.domain.stage import MediaRejected, StageJob, StageResult
from media_grpc.service import audit_trail, profile_images
from media_grpc.service.context import ServiceContext
from media_grpc.service.retry_processing import RETRYABLE

log = logging.getLogger(__name__)

#: Runs the stage of a job kind on the original at ``source``, writing under ``work_dir``.
StageRunner = Callable[[JobKind, StageJob, Path, Path], StageResult]

#: Characters of a message field quoted when it disagrees with the record.
QUOTED_CHARS = 128


class Handled(StrEnum):
    DONE = "done"
    #: Nothing to do: already READY or DELETED, or the media is gone.
    SKIPPED = "skipped"
    #: Another worker holds this media right now; deliver the job again later.
    BUSY = "busy"


class JobDisagrees(Exception):
    """The message names a media but not its recorded content: never run, never retried."""


class MediaProcessing:
    """Parameters:
    ctx: unit of work factory, storage and clock.
    locks: per-media locks (advisory locks on PostgreSQL).
    run_stage: the stage for each job kind, settings bound.
    """

    def __init__(self, ctx: ServiceContext, locks: JobLocks, run_stage: StageRunner) -> None:
        self.ctx = ctx
        self.locks = locks
        self.run_stage = run_stage

    def process(self, job: ProcessingJob) -> Handled:
        """Raises MediaRejected (never retried), JobDisagrees, or any error (retried)."""
        with self.locks.hold(job.media_id) as held:
            if not held:
                log.info("job %s: media %s is busy in another worker", job.job_id, job.media_id)
                return Handled.BUSY
            media = self._runnable(job)
            if media is None:
                return Handled.SKIPPED
            self._freeze(media)
            if not self._claim(job):
                return Handled.SKIPPED
            self.ctx.storage.delete([media.storage_key])
            kind = JobKind.for_purpose(media.purpose)
            log.info("job %s: running %s stage for media %s", job.job_id, kind, media.id)
            prefix = output_prefix(media.storage_key, video=media.purpose.is_video)
            with job_directory() as tmp:
                source, work_dir = tmp / "original", tmp / "out"
                work_dir.mkdir()
                sha256 = self._download(media, frozen_original_key(media.storage_key), source)
                result = self.run_stage(kind, _stage_job(media), source, work_dir)
                for obj in result.objects:
                    self.ctx.storage.upload_file(
                        obj.path,
                        prefix + obj.key,
                        content_type=obj.content_type,
                        cache_control=obj.cache_control,
                    )
            return Handled.DONE if self._record(job, prefix, result, sha256) else Handled.SKIPPED

    def fail(self, job: ProcessingJob, failure: Failure) -> None:
        """Remove what the failure left, then mark the media FAILED, unless it moved on.

        Partial outputs and the upload key always go. The frozen original goes too, unless
        RetryProcessing may cure the failure (PROCESSING_ERROR, TIMEOUT): then it stays,
        private, until the FAILED record is purged after its retention. Raises when storage
        fails, so that the job is retried and nothing is recorded half-cleaned.
        """
        with self.ctx.uow() as uow:
            media = uow.media.get(job.media_id, for_update=True)
            if media is None or media.status not in _RUNNABLE or _disagreement(job, media):
                return
            storage = self.ctx.storage
            gone = [media.storage_key]
            if failure.reason not in RETRYABLE:
                gone.append(frozen_original_key(media.storage_key))
            storage.delete(gone)
            storage.delete_prefix(output_prefix(media.storage_key, video=media.purpose.is_video))
            media.variants, media.hls_key = [], None
            lifecycle.mark_failed(media, failure, self.ctx.now())
            uow.media.save(media)
            audit_trail.record(
                uow,
                media,
                WORKER,
                AuditAction.PROCESSING_FAILED,
                outcome=failure.reason.value,
                detail=failure.message,
            )
            uow.commit()
        log.warning("job %s: media %s FAILED %s", job.job_id, job.media_id, failure.reason)

    def _runnable(self, job: ProcessingJob) -> Media | None:
        """The media as the database has it, if this job has work to do."""
        with self.ctx.uow() as uow:
            media = uow.media.get(job.media_id)
        if media is not None and (why := _disagreement(job, media)):
            raise JobDisagrees(f"job {job.job_id} disagrees with media {media.id}: {why}")
        if media is None or media.status not in _RUNNABLE:
            status = media.status if media else "missing"
            log.info("job %s: media %s is %s, nothing to do", job.job_id, job.media_id, status)
            return None
        return media

    def _claim(self, job: ProcessingJob) -> bool:
        """PROCESSING, once the original is frozen: a PROCESSING or READY media always has its
        frozen copy (GetMedia serves it). A media deleted meanwhile loses the copy too."""
        with self.ctx.uow() as uow:
            media = uow.media.get(job.media_id, for_update=True)
            if media is not None and media.status in _RUNNABLE:
                lifecycle.move(media, Status.PROCESSING, self.ctx.now())
                uow.media.save(media)
                audit_trail.record(uow, media, WORKER, AuditAction.PROCESSING_STARTED)
                uow.commit()
                return True
        log.info("job %s: media %s moved on while it was frozen", job.job_id, job.media_id)
        self.ctx.storage.delete([frozen_original_key(job.storage_key)])
        return False

    def _freeze(self, media: Media) -> None:
        """Copy the pinned upload to its frozen key (the caller deletes the upload key once
        the media is PROCESSING). A retry finds the upload key deleted (or rewritten by a late
        PUT) and the frozen copy already there. Without either, the original is gone for good.
        """
        frozen = frozen_original_key(media.storage_key)
        storage = self.ctx.storage
        try:
            storage.copy(
                media.storage_key,
                frozen,
                pinned=ObjectInfo(
                    size=media.size_bytes,
                    etag=media.etag or "",
                    content_type=media.mime_type or media.declared_content_type,
                    version_id=media.version_id,
                ),
            )
        except BlobNotFound:
            if not self._already_frozen(media, frozen):
                raise MediaRejected(
                    FailureReason.OBJECT_MISSING,
                    "the original verified at completion is no longer in storage (deleted or "
                    "overwritten); upload the file again",
                ) from None

    def _already_frozen(self, media: Media, frozen: str) -> bool:
        try:
            return self.ctx.storage.head(frozen).size == media.size_bytes
        except BlobNotFound:
            return False

    def _download(self, media: Media, frozen: str, source: Path) -> str:
        """The frozen original, hashed on the way; its hex sha256 (checked against a declared
        one)."""
        digest = hashlib.sha256()
        try:
            self.ctx.storage.download(frozen, source, on_chunk=digest.update)
        except BlobNotFound:
            raise MediaRejected(
                FailureReason.OBJECT_MISSING,
                "the original is no longer in storage (the media was deleted meanwhile)",
            ) from None
        computed = digest.hexdigest()
        if media.sha256 and computed != media.sha256:
            raise MediaRejected(
                FailureReason.CHECKSUM_MISMATCH,
                f"declared sha256 {media.sha256}, the uploaded bytes hash to {computed}",
            )
        return computed

    def _record(self, job: ProcessingJob, prefix: str, result: StageResult, sha256: str) -> bool:
        with self.ctx.uow() as uow:
            # The owner's profile-image lock first, before any media row lock (deadlock order).
            profile_images.hold_owner(uow, job.purpose, job.owner_id, self.ctx.now())
            media = uow.media.get(job.media_id, for_update=True)
            deleted = media is None or media.status is Status.DELETED
            if media is not None and not deleted:
                if media.status is not Status.PROCESSING:
                    return False
                media.variants = [_absolute(v, prefix) for v in result.variants]
                media.width, media.height = result.width, result.height
                media.duration_ms = result.duration_ms
                media.metadata = dict(result.metadata)
                media.hls_key = prefix + result.hls_key if result.hls_key else None
                media.failure = None
                media.verified_sha256 = sha256
                lifecycle.move(media, Status.READY, self.ctx.now())
                profile_images.make_current(uow, self.ctx.storage, media, self.ctx.now())
                uow.media.save(media)
                audit_trail.record(uow, media, WORKER, AuditAction.PROCESSING_READY)
                uow.commit()
        if deleted:
            self._discard(job, prefix)
            return False
        log.info("job %s: media %s READY", job.job_id, job.media_id)
        return True

    def _discard(self, job: ProcessingJob, prefix: str) -> None:
        """The media was deleted (or purged) while the stage ran, so what this job froze and
        uploaded belongs to nothing. If storage fails, the job is still skipped (a retry would
        find DELETED and do nothing); the retention purge of the DELETED record deletes the
        same keys again."""
        media_id = job.media_id
        log.info("job %s: media %s was deleted meanwhile; removing outputs", job.job_id, media_id)
        try:
            self.ctx.storage.delete([frozen_original_key(job.storage_key)])
            self.ctx.storage.delete_prefix(prefix)
        except BlobStorageUnavailable as e:
            log.warning("job %s: outputs under %s left for the cleanup: %s", job.job_id, prefix, e)


_RUNNABLE = frozenset({Status.UPLOADED, Status.PROCESSING})


def _disagreement(job: ProcessingJob, media: Media) -> str:
    """Which field of the message differs from the record ('' when none does)."""
    recorded = {
        "owner_id": media.owner_id,
        "purpose": media.purpose.value,
        "kind": JobKind.for_purpose(media.purpose).value,
        "storage_key": media.storage_key,
        "etag": media.etag or "",
        "version_id": media.version_id or "",
    }
    sent = {
        "owner_id": job.owner_id,
        "purpose": job.purpose.value,
        "kind": job.kind.value,
        "storage_key": job.storage_key,
        "etag": job.etag,
        "version_id": job.version_id,
    }
    for name, value in sent.items():
        if value != recorded[name]:
            return (
                f"{name} {value[:QUOTED_CHARS]!r} in the message, "
                f"{recorded[name][:QUOTED_CHARS]!r} in the record"
            )
    return ""


def _absolute(variant: Variant, prefix: str) -> Variant:
    return replace(variant, storage_key=prefix + variant.storage_key)


def _stage_job(media: Media) -> StageJob:
    return StageJob(
        media_id=media.id,
        owner_id=media.owner_id,
        purpose=media.purpose,
        mime_type=media.mime_type,
        storage_key=media.storage_key,
    )
