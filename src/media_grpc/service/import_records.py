"""The import record's life: claimed under a lease, then IMPORTED (with its media and job, in
one transaction) or FAILED with its reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.imports import ImportSettings
from media_grpc.domain.audit import AuditAction
from media_grpc.domain.errors import Conflict, FailedPrecondition
from media_grpc.domain.imports import ImportRecord, ImportState, import_key
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Media
from media_grpc.service import audit_trail
from media_grpc.service.context import ServiceContext
from media_grpc.service.import_requests import ImportRequest, check_same_import


def claim_import(
    ctx: ServiceContext, settings: ImportSettings, request: ImportRequest
) -> tuple[ImportRecord, Media | None]:
    """This call's import record (FETCHING under a lease), or the earlier import's media."""
    now = ctx.now()
    lease = now + timedelta(
        seconds=settings.total_timeout_seconds + settings.takeover_margin_seconds
    )
    fresh = ImportRecord(
        key=import_key(request.idempotency_key or request.url),
        source_url=request.url,
        owner_id=request.owner_id,
        purpose=request.purpose,
        state=ImportState.FETCHING,
        media_id=ctx.new_id(),
        attempts=1,
        lease_until=lease,
        created_at=now,
        updated_at=now,
        post_id=request.post_id or None,
        post_position=request.post_position,
    )
    with ctx.uow() as uow:
        if request.post_id:
            check_post_owner(uow, request.post_id, request.owner_id)
        if uow.imports.add_if_absent(fresh):
            uow.commit()
            return fresh, None
        record = uow.imports.get(fresh.key, for_update=True)
        assert record is not None
        check_same_import(record, request)
        if record.state is ImportState.IMPORTED:
            earlier = uow.media.get(record.media_id)
            if earlier is not None:
                return record, earlier
        elif record.state is ImportState.FETCHING and record.lease_until > now:
            raise Conflict(
                f"an import of this URL is in progress (attempt {record.attempts}); "
                "call again once it has finished"
            )
        taken = replace(
            record,
            state=ImportState.FETCHING,
            media_id=fresh.media_id,
            attempts=record.attempts + 1,
            lease_until=lease,
            updated_at=now,
            post_id=fresh.post_id,
            post_position=fresh.post_position,
            reason=None,
            message=None,
        )
        uow.imports.save(taken)
        uow.commit()
        return taken, None


def record_imported(ctx: ServiceContext, record: ImportRecord, media: Media, now: datetime) -> bool:
    """Media UPLOADED, its job queued and the import done, together; False when another
    call took the import over meanwhile (this one outlived its lease)."""
    with ctx.uow() as uow:
        current = uow.imports.get(record.key, for_update=True)
        if current is None or current.media_id != record.media_id:
            return False
        if media.post_id:
            check_post_owner(uow, media.post_id, media.owner_id)
        uow.media.add(media)
        uow.outbox.add(ProcessingJob.for_media(ctx.new_id(), media, now))
        uow.imports.save(replace(current, state=ImportState.IMPORTED, updated_at=now))
        audit_trail.record(
            uow,
            media,
            audit_trail.calling_service(media.owner_id),
            AuditAction.IMPORTED,
            detail=f"from {audit_trail.without_secrets(record.source_url)}",
        )
        uow.commit()
    return True


def record_failed(ctx: ServiceContext, record: ImportRecord, reason: str, message: str) -> None:
    with ctx.uow() as uow:
        current = uow.imports.get(record.key, for_update=True)
        if current is None or current.media_id != record.media_id:
            return
        failed = replace(
            current,
            state=ImportState.FAILED,
            reason=reason,
            message=message,
            updated_at=ctx.now(),
        )
        uow.imports.save(failed)
        uow.commit()


def check_post_owner(uow: AbstractUnitOfWork, post_id: str, owner_id: str) -> None:
    others = {m.owner_id for m in uow.media.find_by_post(post_id)} - {owner_id}
    if others:
        raise FailedPrecondition(
            f"post {post_id[:128]!r} holds media of another owner; a post belongs to one owner"
        )
