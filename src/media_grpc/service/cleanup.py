"""The lifecycle sweeps: expire abandoned sessions, remove what late PUTs left under failed
or completed sessions, queue stuck media again, delete media never attached to a post, purge
deleted and failed records after their retention, delete old published outbox rows.

Each sweep claims a batch of rows in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL),
acts on storage while it holds them, changes their status and commits. A second run at the same
time skips the claimed rows and, once they are committed, no longer finds them: no media is
handled twice. Deleting an object that is already gone is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from media_grpc.adapters.blob_storage import BlobStorageUnavailable
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain import lifecycle
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.observability import metrics
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import delete_objects, object_keys

log = logging.getLogger(__name__)

#: Counted when a dry run lists what it would do: at most this many media per sweep.
DRY_RUN_LIMIT = 10_000


@dataclass
class CleanupReport:
    """What one run did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    #: PENDING sessions past expiry marked FAILED (EXPIRED).
    expired_sessions: int = 0
    #: Multipart uploads of those sessions aborted in storage.
    multipart_aborted: int = 0
    #: READY media never attached to a post, deleted.
    unattached_deleted: int = 0
    #: FAILED sessions whose URLs expired: their key (and multipart upload) deleted again,
    #: in case a late PUT wrote it after the verdict.
    late_puts_swept: int = 0
    #: Completed media whose URLs expired: their upload key deleted once more, in case a PUT
    #: wrote it after the job froze the original.
    completed_uploads_swept: int = 0
    #: UPLOADED/PROCESSING media unchanged for too long, queued again through the outbox.
    stuck_requeued: int = 0
    #: DELETED records purged after their retention.
    records_purged: int = 0
    #: FAILED upload records (never completed) purged after the same retention.
    failed_purged: int = 0
    #: Published outbox rows deleted after their retention.
    outbox_rows_deleted: int = 0
    #: Object keys asked to go (already-missing ones included).
    objects_deleted: int = 0
    #: Media left for the next run because storage failed, as ``media_id: error``.
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else ""
        rows = [
            ("expired upload sessions", self.expired_sessions),
            ("multipart uploads aborted", self.multipart_aborted),
            ("failed sessions swept for late uploads", self.late_puts_swept),
            ("completed uploads swept for late uploads", self.completed_uploads_swept),
            ("stuck media queued again", self.stuck_requeued),
            ("unattached media deleted", self.unattached_deleted),
            ("deleted records purged", self.records_purged),
            ("failed upload records purged", self.failed_purged),
            ("published outbox rows deleted", self.outbox_rows_deleted),
        ]
        if not self.dry_run:
            rows.append(("object keys deleted", self.objects_deleted))
        out = [f"{name}{' (' + verb + ')' if verb else ''}: {count}" for name, count in rows]
        out += [f"error: {e}" for e in self.errors]
        return out


class CleanupService:
    def __init__(self, ctx: ServiceContext, settings: LifecycleSettings) -> None:
        self.ctx = ctx
        self.settings = settings

    def run(self, *, dry_run: bool = False) -> CleanupReport:
        """Run every sweep until nothing is left (or, with ``dry_run``, count what would go)."""
        report = CleanupReport(dry_run=dry_run)
        now = self.ctx.now()
        if dry_run:
            self._count(report, now)
        else:
            self._drain(report, lambda: self._expire_batch(report, now))
            # Failed records past retention go first: purging deletes their objects too.
            self._drain(report, lambda: self._purge_failed_batch(report, now))
            self._drain(report, lambda: self._late_put_batch(report, now))
            self._drain(report, lambda: self._completed_upload_batch(report, now))
            self._drain(report, lambda: self._stuck_batch(report, self._stuck_before(now), now))
            self._drain(report, lambda: self._unattached_batch(report, now))
            self._drain(report, lambda: self._purge_batch(report, now))
            self._drain(report, lambda: self._outbox_batch(report, now))
            _count_in_metrics(report)
        log.info("cleanup finished", extra={"cleanup": vars(report)})
        return report

    def requeue_stuck(self, changed_before: datetime) -> int:
        """Queue a fresh job for every UPLOADED/PROCESSING media unchanged since
        ``changed_before``; how many. The embedded default calls it at start-up with the
        current time: the in-process queue lost every job it held when the process stopped."""
        report = CleanupReport()
        self._drain(report, lambda: self._stuck_batch(report, changed_before, self.ctx.now()))
        metrics.CLEANUP_ACTIONS.labels("stuck_requeued").inc(report.stuck_requeued)
        return report.stuck_requeued

    def _drain(self, report: CleanupReport, batch: Callable[[], int]) -> None:
        """Run batches while they come back full; stop at the first storage error."""
        while True:
            errors_before = len(report.errors)
            claimed = batch()
            if claimed < self.settings.batch_size or len(report.errors) > errors_before:
                return

    def _count(self, report: CleanupReport, now: datetime) -> None:
        with self.ctx.uow() as uow:
            expired = uow.media.find_expired_pending(now, DRY_RUN_LIMIT)
            report.expired_sessions = len(expired)
            report.multipart_aborted = sum(1 for m in expired if m.multipart)
            report.unattached_deleted = len(
                uow.media.find_unattached_ready(self._ready_before(now), DRY_RUN_LIMIT)
            )
            report.records_purged = len(
                uow.media.find_deleted(self._deleted_before(now), DRY_RUN_LIMIT)
            )
            report.late_puts_swept = len(uow.media.find_failed_sessions(now, DRY_RUN_LIMIT))
            report.completed_uploads_swept = len(uow.media.find_unswept_uploads(now, DRY_RUN_LIMIT))
            report.stuck_requeued = len(
                uow.media.find_stuck(self._stuck_before(now), DRY_RUN_LIMIT)
            )
            report.failed_purged = len(
                uow.media.find_failed_uploads(self._deleted_before(now), now, DRY_RUN_LIMIT)
            )
            report.outbox_rows_deleted = len(
                uow.outbox.find_published(self._outbox_before(now), DRY_RUN_LIMIT)
            )

    def _expire_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            batch = uow.media.find_expired_pending(now, self.settings.batch_size, claim=True)
            for media in batch:
                if not self._delete_objects(report, media):
                    continue
                report.multipart_aborted += media.multipart is not None
                message = "the upload session expired before the upload was completed"
                lifecycle.mark_failed(media, Failure(FailureReason.EXPIRED, message), now)
                uow.media.save(media)
                report.expired_sessions += 1
            uow.commit()
        return len(batch)

    def _unattached_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            batch = uow.media.find_unattached_ready(
                self._ready_before(now), self.settings.batch_size, claim=True
            )
            for media in batch:
                if not self._delete_objects(report, media):
                    continue
                lifecycle.move(media, Status.DELETED, now)
                media.deleted_at = now
                uow.media.save(media)
                report.unattached_deleted += 1
            uow.commit()
        return len(batch)

    def _purge_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            batch = uow.media.find_deleted(
                self._deleted_before(now), self.settings.batch_size, claim=True
            )
            for media in batch:
                if not self._delete_objects(report, media):
                    continue
                uow.media.purge(media.id)
                report.records_purged += 1
            uow.commit()
        return len(batch)

    def _late_put_batch(self, report: CleanupReport, now: datetime) -> int:
        """A verdict (or an abort) came before the session's URLs expired; a PUT after it may
        have written the key. Delete it again once no URL can write it; ``updated_at`` moves
        past ``expires_at``, so the media is not found again."""
        with self.ctx.uow() as uow:
            batch = uow.media.find_failed_sessions(now, self.settings.batch_size, claim=True)
            for media in batch:
                if not self._delete_objects(report, media):
                    continue
                report.multipart_aborted += media.multipart is not None
                media.updated_at = now
                uow.media.save(media)
                report.late_puts_swept += 1
            uow.commit()
        return len(batch)

    def _completed_upload_batch(self, report: CleanupReport, now: datetime) -> int:
        """The job froze the original and deleted the upload key, but the session's URL stayed
        valid until ``expires_at``: a PUT in between wrote the key again. Once no URL can
        write it, delete it for good (only the upload key: the frozen original, variants and
        record stay as they are) and mark the media swept."""
        with self.ctx.uow() as uow:
            batch = uow.media.find_unswept_uploads(now, self.settings.batch_size, claim=True)
            for media in batch:
                try:
                    self.ctx.storage.delete([media.storage_key])
                except BlobStorageUnavailable as e:
                    report.errors.append(f"{media.id}: {e}")
                    continue
                media.upload_swept_at = now
                uow.media.save(media)
                report.objects_deleted += 1
                report.completed_uploads_swept += 1
            uow.commit()
        return len(batch)

    def _stuck_batch(self, report: CleanupReport, changed_before: datetime, now: datetime) -> int:
        """Back to UPLOADED with a new outbox job, in one transaction. A job still alive
        somewhere finds the media UPLOADED (or READY) and is skipped or does no harm."""
        with self.ctx.uow() as uow:
            batch = uow.media.find_stuck(changed_before, self.settings.batch_size, claim=True)
            for media in batch:
                if media.status is not Status.UPLOADED:
                    lifecycle.move(media, Status.UPLOADED, now)
                media.updated_at = now
                uow.media.save(media)
                uow.outbox.add(ProcessingJob.for_media(self.ctx.new_id(), media, now))
                report.stuck_requeued += 1
            uow.commit()
        if batch:
            log.info("queued %d stuck media again", len(batch))
        return len(batch)

    def _purge_failed_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            batch = uow.media.find_failed_uploads(
                self._deleted_before(now), now, self.settings.batch_size, claim=True
            )
            for media in batch:
                if not self._delete_objects(report, media):
                    continue
                uow.media.purge(media.id)
                report.failed_purged += 1
            uow.commit()
        return len(batch)

    def _outbox_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            job_ids = uow.outbox.find_published(
                self._outbox_before(now), self.settings.batch_size, claim=True
            )
            uow.outbox.delete(job_ids)
            uow.commit()
        report.outbox_rows_deleted += len(job_ids)
        return len(job_ids)

    def _delete_objects(self, report: CleanupReport, media: Media) -> bool:
        try:
            found = delete_objects(self.ctx.storage, media)
        except BlobStorageUnavailable as e:
            report.errors.append(f"{media.id}: {e}")
            return False
        report.objects_deleted += len(object_keys(media)) + found
        return True

    def _ready_before(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.settings.unattached_ttl_hours)

    def _deleted_before(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.settings.deleted_retention_hours)

    def _stuck_before(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.settings.stuck_after_minutes)

    def _outbox_before(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.settings.outbox_retention_hours)


def _count_in_metrics(report: CleanupReport) -> None:
    metrics.CLEANUP_ACTIONS.labels("expired_session").inc(report.expired_sessions)
    metrics.CLEANUP_ACTIONS.labels("unattached_deleted").inc(report.unattached_deleted)
    metrics.CLEANUP_ACTIONS.labels("record_purged").inc(report.records_purged)
    metrics.CLEANUP_ACTIONS.labels("late_put_swept").inc(report.late_puts_swept)
    metrics.CLEANUP_ACTIONS.labels("completed_upload_swept").inc(report.completed_uploads_swept)
    metrics.CLEANUP_ACTIONS.labels("stuck_requeued").inc(report.stuck_requeued)
    metrics.CLEANUP_ACTIONS.labels("failed_purged").inc(report.failed_purged)
    metrics.CLEANUP_ACTIONS.labels("outbox_purged").inc(report.outbox_rows_deleted)
    metrics.UPLOADS_FAILED.labels(FailureReason.EXPIRED.value).inc(report.expired_sessions)
