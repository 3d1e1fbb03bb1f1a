"""The lifecycle sweeps: expire abandoned sessions, remove what late PUTs left under failed
or completed sessions, queue stuck media again, delete media never attached to a post, purge
deleted and failed records after their retention, delete old published outbox rows, forget
per-owner rate-limit buckets left idle (adapters/idle_buckets.py: full by then, as a missing
row is), delete audit events older than their retention.

Each sweep claims a batch of rows in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL),
acts on storage while it holds them, changes their status and commits. A second run at the same
time skips the claimed rows and, once they are committed, no longer finds them: no media is
handled twice. Deleting an object that is already gone is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

from media_grpc.adapters.blob_storage import BlobStorageUnavailable
from media_grpc.adapters.idle_buckets import IdleBuckets
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain.model import FailureReason, Media
from media_grpc.observability import metrics
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import delete_objects
from media_grpc.service.sweeps import STUCK, SWEEPS, Sweep, outbox_before

log = logging.getLogger(__name__)

#: Counted when a dry run lists what it would do: at most this many media per sweep.
DRY_RUN_LIMIT = 10_000

#: The per-owner bucket tables the cleanup forgets idle rows of: CreateUploadSession's
#: (``owner_limit``) and the other rated calls' (``owner_call_rate``).
BUCKET_PORTS: tuple[Callable[[AbstractUnitOfWork], IdleBuckets], ...] = (
    lambda uow: uow.limits,
    lambda uow: uow.call_rates,
)


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
    #: Per-owner rate-limit buckets (both tables) unused for their retention, deleted.
    rate_buckets_forgotten: int = 0
    #: Audit events older than MEDIA_LIFECYCLE__AUDIT_RETENTION_DAYS, deleted.
    audit_events_deleted: int = 0
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
            ("idle rate-limit buckets forgotten", self.rate_buckets_forgotten),
            ("audit events past retention deleted", self.audit_events_deleted),
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
            for sweep in SWEEPS:
                self._drain(report, partial(self._batch, sweep, report, now))
            self._drain(report, lambda: self._outbox_batch(report, now))
            for buckets in BUCKET_PORTS:
                self._drain(report, partial(self._bucket_batch, buckets, report, now))
            self._drain(report, lambda: self._events_batch(report, now))
            _count_in_metrics(report)
        log.info("cleanup finished", extra={"cleanup": vars(report)})
        return report

    def requeue_stuck(self, changed_before: datetime) -> int:
        """Queue a fresh job for every UPLOADED/PROCESSING media unchanged since
        ``changed_before``; how many. The embedded default calls it at start-up with the
        current time: the in-process queue lost every job it held when the process stopped."""
        report = CleanupReport()
        since = replace(STUCK, cutoff=lambda _settings, _now: changed_before)
        self._drain(report, partial(self._batch, since, report, self.ctx.now()))
        metrics.CLEANUP_ACTIONS.labels(STUCK.metric).inc(report.stuck_requeued)
        return report.stuck_requeued

    def _drain(self, report: CleanupReport, batch: Callable[[], int]) -> None:
        """Run batches while they come back full; stop at the first storage error."""
        while True:
            errors_before = len(report.errors)
            claimed = batch()
            if claimed < self.settings.batch_size or len(report.errors) > errors_before:
                return

    def _batch(self, sweep: Sweep, report: CleanupReport, now: datetime) -> int:
        """Claim one batch of ``sweep``'s media, act on each, commit; how many were claimed."""
        with self.ctx.uow() as uow:
            batch = sweep.find(self.settings, uow, now, self.settings.batch_size, True)
            handled = 0
            for media in batch:
                if sweep.deletes_objects and not self._delete_objects(
                    uow, report, media, upload_key_only=sweep.upload_key_only
                ):
                    continue
                report.multipart_aborted += sweep.aborts_multipart and media.multipart is not None
                sweep.act(self.ctx, uow, media, now)
                handled += 1
            uow.commit()
        setattr(report, sweep.counter, getattr(report, sweep.counter) + handled)
        if handled and not sweep.deletes_objects:
            log.info("%s: %d media", sweep.counter, handled)
        return len(batch)

    def _count(self, report: CleanupReport, now: datetime) -> None:
        with self.ctx.uow() as uow:
            for sweep in SWEEPS:
                found = sweep.find(self.settings, uow, now, DRY_RUN_LIMIT, False)
                setattr(report, sweep.counter, len(found))
                if sweep.aborts_multipart:
                    report.multipart_aborted += sum(1 for m in found if m.multipart)
            report.outbox_rows_deleted = len(
                uow.outbox.find_published(outbox_before(self.settings, now), DRY_RUN_LIMIT)
            )
            idle_before = self._buckets_idle_before(now)
            report.rate_buckets_forgotten = sum(
                buckets(uow).count_idle(idle_before, DRY_RUN_LIMIT) for buckets in BUCKET_PORTS
            )
            report.audit_events_deleted = uow.events.count_before(
                self._events_before(now), DRY_RUN_LIMIT
            )

    def _outbox_batch(self, report: CleanupReport, now: datetime) -> int:
        with self.ctx.uow() as uow:
            job_ids = uow.outbox.find_published(
                outbox_before(self.settings, now), self.settings.batch_size, claim=True
            )
            uow.outbox.delete(job_ids)
            uow.commit()
        report.outbox_rows_deleted += len(job_ids)
        return len(job_ids)

    def _bucket_batch(
        self,
        buckets: Callable[[AbstractUnitOfWork], IdleBuckets],
        report: CleanupReport,
        now: datetime,
    ) -> int:
        """Delete one batch of idle buckets of one table, commit; how many went."""
        with self.ctx.uow() as uow:
            gone = buckets(uow).forget_idle(
                self._buckets_idle_before(now), self.settings.batch_size
            )
            uow.commit()
        report.rate_buckets_forgotten += gone
        return gone

    def _events_batch(self, report: CleanupReport, now: datetime) -> int:
        """Delete one batch of the oldest audit events past their retention, commit."""
        with self.ctx.uow() as uow:
            gone = uow.events.forget_before(self._events_before(now), self.settings.batch_size)
            uow.commit()
        report.audit_events_deleted += gone
        return gone

    def _events_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.settings.audit_retention_days)

    def _buckets_idle_before(self, now: datetime) -> float:
        """Epoch seconds, as the buckets' ``refilled_at``."""
        return now.timestamp() - self.settings.rate_bucket_retention_seconds

    def _delete_objects(
        self,
        uow: AbstractUnitOfWork,
        report: CleanupReport,
        media: Media,
        *,
        upload_key_only: bool = False,
    ) -> bool:
        try:
            if upload_key_only:
                self.ctx.storage.delete([media.storage_key])
                report.objects_deleted += 1
                return True
            report.objects_deleted += delete_objects(uow, self.ctx.storage, media)
        except BlobStorageUnavailable as e:
            report.errors.append(f"{media.id}: {e}")
            return False
        return True


def _count_in_metrics(report: CleanupReport) -> None:
    for sweep in SWEEPS:
        metrics.CLEANUP_ACTIONS.labels(sweep.metric).inc(getattr(report, sweep.counter))
    metrics.CLEANUP_ACTIONS.labels("outbox_purged").inc(report.outbox_rows_deleted)
    metrics.CLEANUP_ACTIONS.labels("rate_bucket_forgotten").inc(report.rate_buckets_forgotten)
    metrics.CLEANUP_ACTIONS.labels("audit_event_deleted").inc(report.audit_events_deleted)
    metrics.UPLOADS_FAILED.labels(FailureReason.EXPIRED.value).inc(report.expired_sessions)
