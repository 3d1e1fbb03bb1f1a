"""CompleteUpload and AbortUpload: the end of a session, once and only once.

A session past its ``expires_at`` is refused (FAILED, EXPIRED, its objects removed): its URLs
no longer work, and what they wrote is not trusted. Verification reads a constant amount
(see verification.py), whatever the size of the file. Storage is read outside any database
transaction; the status change happens under the media's
row lock and only from PENDING, so concurrent completions make one UPLOADED transition and one
processing job, and a completion racing an abort loses cleanly.
"""

from __future__ import annotations

import copy
from datetime import datetime

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain import lifecycle
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.checksums import check_same_sha256
from media_grpc.domain.errors import FailedPrecondition, InvalidArgument
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.observability import metrics
from media_grpc.service import audit_trail
from media_grpc.service.context import ServiceContext, check_visible
from media_grpc.service.keyed_locks import KeyedLocks
from media_grpc.service.multipart import MultipartUploads
from media_grpc.service.verification import UploadVerifier, Verification, refused

#: Statuses a completed upload is in; completing again returns the media as it is.
COMPLETED = frozenset({Status.UPLOADED, Status.PROCESSING, Status.READY})


class UploadCompletion:
    def __init__(
        self, ctx: ServiceContext, verifier: UploadVerifier, multipart: MultipartUploads
    ) -> None:
        self.ctx = ctx
        self.verifier = verifier
        self.multipart = multipart
        self.in_flight = KeyedLocks()

    def complete(
        self,
        principal: Principal,
        media_id: str,
        parts: list[tuple[int, str]],
        sha256: str | None = None,
    ) -> Media:
        """Verify the object and mark the media UPLOADED with its job queued. Idempotent.

        ``sha256`` (a valid hex digest, or None) is recorded when the session declared none.
        """
        with self.in_flight.hold(media_id):
            return self._complete(principal, media_id, parts, sha256)

    def _complete(
        self,
        principal: Principal,
        media_id: str,
        parts: list[tuple[int, str]],
        sha256: str | None,
    ) -> Media:
        media = self.ctx.load_visible(principal, media_id)
        completed = media.status in COMPLETED
        check_same_sha256(media.id, media.sha256, sha256, completed=completed)
        if completed:
            return media
        _require_pending(media)
        if self.ctx.now() >= media.expires_at:
            return self._refuse(principal, media, _expired(media))
        if media.multipart is not None:
            gone = self.multipart.assemble(media, parts)
            if gone is not None:
                return self._refuse(principal, media, Verification(failure=gone))
        elif parts:
            raise InvalidArgument(
                "parts must be empty: media has a single-PUT session",
                field="parts",
                limit="0 parts",
                value=f"{len(parts)} parts",
            )
        verified = self.verifier.verify(media)
        if verified.failure is not None:
            return self._refuse(principal, media, verified)
        return self._mark_uploaded(principal, media, verified, sha256)

    def _mark_uploaded(
        self, principal: Principal, media: Media, verified: Verification, sha256: str | None
    ) -> Media:
        """UPLOADED with its job queued, in one transaction, only from PENDING.

        The common case is one UPDATE guarded by the status read before verifying; when a
        concurrent call changed the status since, the row is read again under its lock and
        answered as it stands (a completion repeated, or refused).
        """
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            uploaded = _uploaded(media, verified, now, sha256)
            # Recorded first, so that the UPDATE can carry it (adapters/sql_media_repository.py); a
            # repeated completion below returns without committing it.
            audit_trail.record(
                uow, uploaded, Actor.of(principal, uploaded.owner_id), AuditAction.UPLOAD_COMPLETED
            )
            if not uow.media.transition(media, uploaded):
                locked = _locked(uow, principal, media.id)
                check_same_sha256(
                    locked.id, locked.sha256, sha256, completed=locked.status in COMPLETED
                )
                if locked.status in COMPLETED:
                    return locked
                _require_pending(locked)
                uploaded = _uploaded(locked, verified, now, sha256)
                uow.media.save(uploaded)
            uow.outbox.add(ProcessingJob.for_media(self.ctx.new_id(), uploaded, now))
            uow.commit()
        # Counted here, where the transition happened: a repeated completion returns above.
        metrics.UPLOADS_COMPLETED.labels(uploaded.purpose.value).inc()
        return uploaded

    def abort(self, principal: Principal, media_id: str) -> Media:
        """Mark a PENDING media FAILED (ABORTED) and free its storage. Aborting twice is fine."""
        media = self.ctx.load_visible(principal, media_id)
        if media.status is Status.PENDING:
            with self.ctx.uow() as uow:
                locked = _locked(uow, principal, media_id)
                if locked.status is Status.PENDING:
                    aborted = Failure(FailureReason.ABORTED, "the client aborted the upload")
                    self._fail(uow, principal, locked, aborted, AuditAction.UPLOAD_ABORTED)
                media = locked
        if media.status is not Status.FAILED:
            raise FailedPrecondition(
                f"media {media_id} is {media.status.value}; only a PENDING upload can be "
                "aborted (delete an uploaded media with DeleteMedia)"
            )
        self.verifier.discard(media)
        return media

    def _refuse(self, principal: Principal, media: Media, verdict: Verification) -> Media:
        """A final verdict: FAILED with the reason, storage emptied, the error raised.

        When a concurrent completion already pinned verified content, that result stands.
        """
        assert verdict.failure is not None
        with self.ctx.uow() as uow:
            locked = _locked(uow, principal, media.id)
            if locked.status in COMPLETED:
                return locked
            failed_here = locked.status is Status.PENDING
            if failed_here:
                failure = verdict.failure
                self._fail(
                    uow, principal, locked, failure, AuditAction.UPLOAD_REFUSED, failure.message
                )
        self.verifier.discard(locked)
        if not failed_here:
            _require_pending(locked)
        raise verdict.as_error()

    def _fail(
        self,
        uow: AbstractUnitOfWork,
        principal: Principal,
        locked: Media,
        failure: Failure,
        action: AuditAction,
        detail: str = "",
    ) -> None:
        """Mark the PENDING media ``locked`` FAILED, record ``action`` and commit."""
        lifecycle.mark_failed(locked, failure, self.ctx.now())
        uow.media.save(locked)
        actor = Actor.of(principal, locked.owner_id)
        outcome = failure.reason.value
        audit_trail.record(uow, locked, actor, action, outcome=outcome, detail=detail)
        uow.commit()


def _uploaded(media: Media, verified: Verification, now: datetime, sha256: str | None) -> Media:
    """A copy of ``media`` that pins the verified content (and the sha256 given, if any)."""
    uploaded = copy.copy(media)
    uploaded.sha256 = media.sha256 or sha256
    lifecycle.mark_uploaded(
        uploaded,
        etag=verified.etag,
        version_id=verified.version_id,
        mime_type=verified.mime_type,
        now=now,
    )
    return uploaded


def _locked(uow: AbstractUnitOfWork, principal: Principal, media_id: str) -> Media:
    """The media with its row locked until the unit of work ends."""
    return check_visible(principal, uow.media.get(media_id, for_update=True), media_id)


def _expired(media: Media) -> Verification:
    return refused(
        FailureReason.EXPIRED,
        f"the upload session of media {media.id} expired at "
        f"{media.expires_at.isoformat(timespec='seconds')}; create a new session",
    )


def _require_pending(media: Media) -> None:
    if media.status is Status.PENDING:
        return
    why = f" ({media.failure.reason.value}: {media.failure.message})" if media.failure else ""
    raise FailedPrecondition(
        f"media {media.id} is {media.status.value}{why}; only a PENDING upload can complete"
    )
