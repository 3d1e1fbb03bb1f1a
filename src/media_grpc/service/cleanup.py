"""The lifecycle sweeps: expire abandoned sessions, delete media never attached to a post,
purge deleted records after their retention.

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
    #: DELETED records purged after their retention.
    records_purged: int = 0
    #: Object keys asked to go (already-missing ones included).
    objects_deleted: int = 0
    #: Media left for the next run because storage failed, as ``media_id: error``.
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else ""
        rows = [
            ("expired upload sessions", self.expired_sessions),
            ("multipart uploads aborted", self.multipart_aborted),
            ("unattached media deleted", self.unattached_deleted),
            ("deleted records purged", self.records_purged),
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
            self._drain(report, lambda: self._unattached_batch(report, now))
            self._drain(report, lambda: self._purge_batch(report, now))
            _count_in_metrics(report)
        log.info("cleanup finished", extra={"cleanup": vars(report)})
        return report

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


def _count_in_metrics(report: CleanupReport) -> None:
    metrics.CLEANUP_ACTIONS.labels("expired_session").inc(report.expired_sessions)
    metrics.CLEANUP_ACTIONS.labels("unattached_deleted").inc(report.unattached_deleted)
    metrics.CLEANUP_ACTIONS.labels("record_purged").inc(report.records_purged)
    metrics.UPLOADS_FAILED.labels(FailureReason.EXPIRED.value).inc(report.expired_sessions)
