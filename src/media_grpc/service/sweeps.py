"""The lifecycle sweeps as a table: each row says which media a sweep claims and what it does
to each one; service/cleanup.py drains them in order, in batches, the same way for all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from media_grpc.adapters.media_sweeps import SweepSet
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain import lifecycle
from media_grpc.domain.audit import CLEANUP, AuditAction
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.service import audit_trail
from media_grpc.service.context import ServiceContext


def ready_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.unattached_ttl_hours)


def deleted_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.deleted_retention_hours)


def stuck_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(minutes=settings.stuck_after_minutes)


def outbox_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.outbox_retention_hours)


def at_now(_settings: LifecycleSettings, now: datetime) -> datetime:
    """The cutoff of a sweep whose set is bounded by ``now`` alone."""
    return now


#: ``cutoff(settings, now)``: the ``before`` of a sweep's set.
Cutoff = Callable[[LifecycleSettings, datetime], datetime]
#: ``act(ctx, uow, media, now)``: what a sweep does to one media (after deleting its objects).
Act = Callable[[ServiceContext, AbstractUnitOfWork, Media, datetime], None]


@dataclass(frozen=True)
class Sweep:
    """One lifecycle sweep, a row of ``SWEEPS``: the media it claims and what it does to each.

    Parameters:
        counter: the CleanupReport field counting the media it handled.
        metric: the ``media_cleanup_actions_total`` label of that count.
        finds: the set of media it acts on, oldest first.
        act: the change to one media, saved in the batch's transaction.
        cutoff: the set's ``before`` (a retention or TTL back from ``now``).
        deletes_objects: delete the media's objects first (a media whose deletion fails is
            left for the next run).
        aborts_multipart: count the media's multipart upload as aborted (its objects went).
        upload_key_only: of the media's objects, delete only its upload key (the frozen
            original, variants and record stay).
    """

    counter: str
    metric: str
    finds: SweepSet
    act: Act
    cutoff: Cutoff = at_now
    deletes_objects: bool = True
    aborts_multipart: bool = False
    upload_key_only: bool = False

    def find(
        self,
        settings: LifecycleSettings,
        uow: AbstractUnitOfWork,
        now: datetime,
        limit: int,
        claim: bool,
    ) -> list[Media]:
        """At most ``limit`` media of the set, oldest first; ``claim`` locks them."""
        before = self.cutoff(settings, now)
        return uow.media.find_for_sweep(self.finds, now, before, limit, claim=claim)


def _expire(_ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime) -> None:
    message = "the upload session expired before the upload was completed"
    lifecycle.mark_failed(media, Failure(FailureReason.EXPIRED, message), now)
    uow.media.save(media)
    audit_trail.record(
        uow, media, CLEANUP, AuditAction.UPLOAD_REFUSED, outcome="EXPIRED", detail=message
    )


def _purge(_ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, _now: datetime) -> None:
    uow.media.purge(media.id)
    audit_trail.record(uow, media, CLEANUP, AuditAction.PURGED)


def _mark_swept(_ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime) -> None:
    """A verdict (or an abort) came before the session's URLs expired; a PUT after it may have
    written the key, deleted again now that no URL can write it. ``updated_at`` moves past
    ``expires_at``, so the media is not found again."""
    media.updated_at = now
    uow.media.save(media)


def _mark_upload_swept(
    _ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime
) -> None:
    """The job froze the original and deleted the upload key, but the session's URL stayed
    valid until ``expires_at``: a PUT in between wrote the key again, deleted now that no URL
    can write it."""
    media.upload_swept_at = now
    uow.media.save(media)


def _requeue(ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime) -> None:
    """Back to UPLOADED with a new outbox job, in one transaction. A job still alive somewhere
    finds the media UPLOADED (or READY) and is skipped or does no harm."""
    if media.status is not Status.UPLOADED:
        lifecycle.move(media, Status.UPLOADED, now)
    media.updated_at = now
    uow.media.save(media)
    uow.outbox.add(ProcessingJob.for_media(ctx.new_id(), media, now))


def _delete_unattached(
    _ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime
) -> None:
    lifecycle.move(media, Status.DELETED, now)
    media.deleted_at = now
    uow.media.save(media)
    audit_trail.record(
        uow, media, CLEANUP, AuditAction.DELETED, detail="attached to no post in time"
    )


EXPIRE = Sweep(
    "expired_sessions",
    "expired_session",
    SweepSet.EXPIRED_PENDING,
    _expire,
    aborts_multipart=True,
)
STUCK = Sweep(
    "stuck_requeued",
    "stuck_requeued",
    SweepSet.STUCK,
    _requeue,
    stuck_before,
    deletes_objects=False,
)

#: Every media sweep, in the order a run drains them. Failed records past retention go before
#: the late-PUT sweep: purging deletes their objects too.
SWEEPS: tuple[Sweep, ...] = (
    EXPIRE,
    Sweep("failed_purged", "failed_purged", SweepSet.FAILED_UPLOADS, _purge, deleted_before),
    Sweep(
        "late_puts_swept",
        "late_put_swept",
        SweepSet.FAILED_SESSIONS,
        _mark_swept,
        aborts_multipart=True,
    ),
    Sweep(
        "completed_uploads_swept",
        "completed_upload_swept",
        SweepSet.UNSWEPT_UPLOADS,
        _mark_upload_swept,
        upload_key_only=True,
    ),
    STUCK,
    Sweep(
        "unattached_deleted",
        "unattached_deleted",
        SweepSet.UNATTACHED_READY,
        _delete_unattached,
        ready_before,
    ),
    Sweep("records_purged", "record_purged", SweepSet.DELETED, _purge, deleted_before),
)
