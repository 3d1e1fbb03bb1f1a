"""The lifecycle sweeps as a table: each row says which media a sweep claims and what it does
to each one; service/cleanup.py drains them in order, in batches, the same way for all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain import lifecycle
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.service.context import ServiceContext


def ready_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.unattached_ttl_hours)


def deleted_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.deleted_retention_hours)


def stuck_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(minutes=settings.stuck_after_minutes)


def outbox_before(settings: LifecycleSettings, now: datetime) -> datetime:
    return now - timedelta(hours=settings.outbox_retention_hours)


#: ``find(settings, uow, now, limit, claim)``: the media a sweep acts on, oldest first.
Find = Callable[[LifecycleSettings, AbstractUnitOfWork, datetime, int, bool], list[Media]]
#: ``act(ctx, uow, media, now)``: what a sweep does to one media (after deleting its objects).
Act = Callable[[ServiceContext, AbstractUnitOfWork, Media, datetime], None]


@dataclass(frozen=True)
class Sweep:
    """One lifecycle sweep, a row of ``SWEEPS``: the media it claims and what it does to each.

    Parameters:
        counter: the CleanupReport field counting the media it handled.
        metric: the ``media_cleanup_actions_total`` label of that count.
        find: the media it acts on, oldest first.
        act: the change to one media, saved in the batch's transaction.
        deletes_objects: delete the media's objects first (a media whose deletion fails is
            left for the next run).
        aborts_multipart: count the media's multipart upload as aborted (its objects went).
        upload_key_only: of the media's objects, delete only its upload key (the frozen
            original, variants and record stay).
    """

    counter: str
    metric: str
    find: Find
    act: Act
    deletes_objects: bool = True
    aborts_multipart: bool = False
    upload_key_only: bool = False


def _expire(_ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, now: datetime) -> None:
    message = "the upload session expired before the upload was completed"
    lifecycle.mark_failed(media, Failure(FailureReason.EXPIRED, message), now)
    uow.media.save(media)


def _purge(_ctx: ServiceContext, uow: AbstractUnitOfWork, media: Media, _now: datetime) -> None:
    uow.media.purge(media.id)


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


EXPIRE = Sweep(
    "expired_sessions",
    "expired_session",
    lambda _s, uow, now, limit, claim: uow.media.find_expired_pending(now, limit, claim=claim),
    _expire,
    aborts_multipart=True,
)
STUCK = Sweep(
    "stuck_requeued",
    "stuck_requeued",
    lambda s, uow, now, limit, claim: uow.media.find_stuck(
        stuck_before(s, now), limit, claim=claim
    ),
    _requeue,
    deletes_objects=False,
)

#: Every media sweep, in the order a run drains them. Failed records past retention go before
#: the late-PUT sweep: purging deletes their objects too.
SWEEPS: tuple[Sweep, ...] = (
    EXPIRE,
    Sweep(
        "failed_purged",
        "failed_purged",
        lambda s, uow, now, limit, claim: uow.media.find_failed_uploads(
            deleted_before(s, now), now, limit, claim=claim
        ),
        _purge,
    ),
    Sweep(
        "late_puts_swept",
        "late_put_swept",
        lambda _s, uow, now, limit, claim: uow.media.find_failed_sessions(now, limit, claim=claim),
        _mark_swept,
        aborts_multipart=True,
    ),
    Sweep(
        "completed_uploads_swept",
        "completed_upload_swept",
        lambda _s, uow, now, limit, claim: uow.media.find_unswept_uploads(now, limit, claim=claim),
        _mark_upload_swept,
        upload_key_only=True,
    ),
    STUCK,
    Sweep(
        "unattached_deleted",
        "unattached_deleted",
        lambda s, uow, now, limit, claim: uow.media.find_unattached_ready(
            ready_before(s, now), limit, claim=claim
        ),
        _delete_unattached,
    ),
    Sweep(
        "records_purged",
        "record_purged",
        lambda s, uow, now, limit, claim: uow.media.find_deleted(
            deleted_before(s, now), limit, claim=claim
        ),
        _purge,
    ),
)
