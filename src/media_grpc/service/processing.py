"""RetryProcessing: queue a media whose processing failed once more."""

from __future__ import annotations

from media_grpc.domain import lifecycle
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import FailureReason, Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import archive
from media_grpc.service.context import ServiceContext, check_visible

#: Failures a new attempt may cure. Verification failures (the original is gone) and
#: verdicts on the file itself (corrupt, unsupported, too many pixels) would fail again.
RETRYABLE = frozenset({FailureReason.PROCESSING_ERROR, FailureReason.TIMEOUT})


class ProcessingRetries:
    def __init__(
        self, ctx: ServiceContext, *, restore_days: int = archive.DEFAULT_RESTORE_DAYS
    ) -> None:
        self.ctx = ctx
        #: Days a restored archived original stays readable (MEDIA_STORAGE__RESTORE_DAYS).
        self.restore_days = restore_days

    def retry(self, principal: Principal, media_id: str) -> Media:
        """FAILED (with a retryable reason) -> UPLOADED plus a new job, in one transaction."""
        with self.ctx.uow() as uow:
            media = check_visible(principal, uow.media.get(media_id, for_update=True), media_id)
            reason = media.failure.reason if media.failure else None
            if media.status is not Status.FAILED or reason not in RETRYABLE:
                why = f"FAILED with {reason.value}" if reason else media.status.value
                raise FailedPrecondition(
                    f"media {media_id} is {why}; only media FAILED with "
                    f"{' or '.join(sorted(r.value for r in RETRYABLE))} can be retried"
                )
            archive.require_readable_original(self.ctx.storage, media, self.restore_days)
            now = self.ctx.now()
            lifecycle.move(media, Status.UPLOADED, now)
            media.failure = None
            uow.media.save(media)
            uow.outbox.add(ProcessingJob.for_media(self.ctx.new_id(), media, now))
            uow.commit()
        return media
