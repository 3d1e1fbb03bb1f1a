"""RetryProcessing: queue a media whose processing failed once more.

Retries are bounded: at most ``max_retries_per_media`` per media, a token bucket per owner,
and a TIMEOUT is final unless the time limit of its kind was raised since it ran (a stage
that timed out under a limit times out again under the same one).
"""

from __future__ import annotations

from collections.abc import Callable

from media_grpc.adapters.owner_call_rates import InMemoryCallRates
from media_grpc.config.limits import LimitSettings
from media_grpc.domain import lifecycle
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.ids import check_media_id
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import FailureReason, Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import archive, audit_trail
from media_grpc.service.context import ServiceContext, check_visible
from media_grpc.service.owner_rates import OwnerRates, RatedCall

#: Failures a new attempt may cure. Verification failures (the original is gone) and
#: verdicts on the file itself (corrupt, unsupported, too many pixels) would fail again.
RETRYABLE = frozenset({FailureReason.PROCESSING_ERROR, FailureReason.TIMEOUT})
#: Metadata key counting the RetryProcessing calls a media was queued by (reset when READY).
RETRIES_KEY = "processing_retries"
#: Metadata key holding the wall-clock limit, in seconds, the media's last attempt ran under.
TIME_LIMIT_KEY = "processing_time_limit_seconds"

TimeLimits = Callable[[Purpose], float | None]


def _no_limits(_purpose: Purpose) -> float | None:
    return None


class ProcessingRetries:
    """Parameters:
    limits: the per-media cap and the per-owner rate (``MEDIA_LIMITS__*``).
    time_limit: the wall-clock limit now configured for a purpose's jobs, or None.
    restore_days: days a restored archived original stays readable (MEDIA_STORAGE__RESTORE_DAYS).
    """

    def __init__(
        self,
        ctx: ServiceContext,
        limits: LimitSettings | None = None,
        time_limit: TimeLimits = _no_limits,
        rates: OwnerRates | None = None,
        *,
        restore_days: int = archive.DEFAULT_RESTORE_DAYS,
    ) -> None:
        self.ctx = ctx
        self.limits = limits or LimitSettings()
        self.time_limit = time_limit
        self.rates = rates or OwnerRates(self.limits, InMemoryCallRates())
        self.restore_days = restore_days

    def retry(self, principal: Principal, media_id: str) -> Media:
        """FAILED (with a retryable reason) -> UPLOADED plus a new job, in one transaction."""
        check_media_id(media_id)
        with self.ctx.uow() as uow:
            media = check_visible(principal, uow.media.get(media_id, for_update=True), media_id)
            reason = media.failure.reason if media.failure else None
            if media.status is not Status.FAILED or reason not in RETRYABLE:
                why = f"FAILED with {reason.value}" if reason else media.status.value
                raise FailedPrecondition(
                    f"media {media_id} is {why}; only media FAILED with "
                    f"{' or '.join(sorted(r.value for r in RETRYABLE))} can be retried"
                )
            self._check_cap(media)
            limit = self.time_limit(media.purpose)
            if reason is FailureReason.TIMEOUT:
                refusal = _timeout_refusal(media, limit)
                if refusal is not None:
                    if TIME_LIMIT_KEY not in media.metadata and limit is not None:
                        media.metadata[TIME_LIMIT_KEY] = f"{limit:g}"
                        uow.media.save(media)
                        uow.commit()
                    raise refusal
            # In this transaction: on SQLite it holds the write lock another connection waits on.
            self.rates.admit(RatedCall.RETRY, media.owner_id, uow)
            try:
                archive.require_readable_original(self.ctx.storage, media, self.restore_days)
            except archive.RestoreStarted as started:
                audit_trail.record(
                    uow,
                    media,
                    Actor.of(principal, media.owner_id),
                    AuditAction.RESTORED,
                    outcome="started",
                    detail=str(started),
                )
                uow.commit()
                raise
            now = self.ctx.now()
            lifecycle.move(media, Status.UPLOADED, now)
            media.failure = None
            media.metadata[RETRIES_KEY] = str(_retries(media) + 1)
            if limit is not None:
                media.metadata[TIME_LIMIT_KEY] = f"{limit:g}"
            uow.media.save(media)
            uow.outbox.add(ProcessingJob.for_media(self.ctx.new_id(), media, now))
            audit_trail.record(
                uow,
                media,
                Actor.of(principal, media.owner_id),
                AuditAction.RETRIED,
                detail=f"after {reason.value}" if reason else "",
            )
            uow.commit()
        return media

    def _check_cap(self, media: Media) -> None:
        cap = self.limits.max_retries_per_media
        if _retries(media) >= cap:
            raise FailedPrecondition(
                f"media {media.id} was retried {_retries(media)} times, the most allowed "
                f"(MEDIA_LIMITS__MAX_RETRIES_PER_MEDIA={cap}); upload the file again",
                violations=[("RETRY_LIMIT", f"media/{media.id}", f"at most {cap} retries")],
            )


def _retries(media: Media) -> int:
    value = media.metadata.get(RETRIES_KEY, "0")
    return int(value) if value.isdigit() else 0


def _timeout_refusal(media: Media, limit: float | None) -> FailedPrecondition | None:
    """None when the limit was raised since the media timed out, else the refusal.

    The limit a TIMEOUT ran under is the one recorded when the media was last queued by a
    retry; a media that timed out on its first run has none recorded, and the limit in force
    now is recorded at the first refusal, so that raising it afterwards allows a retry.
    """
    recorded = media.metadata.get(TIME_LIMIT_KEY)
    ran_under = _float(recorded) if recorded is not None else limit
    if limit is not None and ran_under is not None and limit > ran_under:
        return None
    return FailedPrecondition(
        f"media {media.id} FAILED with TIMEOUT"
        + (f" under a limit of {ran_under:g} s" if ran_under is not None else "")
        + "; it would time out again. Raise the job time limit to retry it",
        violations=[("TIMEOUT_IS_FINAL", f"media/{media.id}", "the time limit was not raised")],
    )


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
