"""Per-owner rates of the calls besides CreateUploadSession: GetUploadPartUrls,
CompleteUpload and RetryProcessing, each a token bucket per owner kept by an
``AbstractCallRates`` (in the database in a server: they hold across every server process)."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from media_grpc.adapters.owner_call_rates import AbstractCallRates
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.domain.principal import Principal


class RatedCall(StrEnum):
    PART_URLS = "GetUploadPartUrls"
    COMPLETE = "CompleteUpload"
    RETRY = "RetryProcessing"


class OwnerRates:
    """Admits or refuses one call of an owner; raises ResourceExhausted with the wait.

    Parameters:
        settings: each call's rate and burst (``MEDIA_LIMITS__*``).
        buckets: where the buckets live (``SqlAlchemyCallRates`` in a server).
        clock: wall-clock seconds since the epoch (``time.time``: every server sharing the
            database reads the same clock, give or take their skew); tests pass their own.
    """

    def __init__(
        self,
        settings: LimitSettings,
        buckets: AbstractCallRates,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rates = {
            RatedCall.PART_URLS: (settings.part_urls_per_second, settings.part_urls_burst),
            RatedCall.COMPLETE: (settings.completions_per_second, settings.completion_burst),
            RatedCall.RETRY: (settings.retries_per_second, settings.retry_burst),
        }
        self.buckets = buckets
        self.clock = clock

    def admit(self, call: RatedCall, owner_id: str, uow: AbstractUnitOfWork | None = None) -> None:
        """Take a token of the owner's bucket for ``call``: in ``uow``'s transaction if given
        (rolling it back gives the token back), else on its own."""
        rate, burst = self.rates[call]
        buckets = uow.call_rates if uow is not None else self.buckets
        taken = buckets.take(owner_id, call.value, self.clock(), rate, burst)
        if not taken.admitted:
            wait = (1.0 - taken.tokens) / rate
            raise ResourceExhausted(
                f"{call.value} is limited to {rate:g} calls per second per owner "
                f"(burst {burst}); retry in {wait:.1f} s",
                retry_after_seconds=wait,
            )

    def admit_caller(self, call: RatedCall, principal: Principal) -> None:
        """Count a user's call against the user (their own media are all they may touch).
        Service principals act for many owners and are limited at their own edge."""
        if not principal.is_service:
            self.admit(call, principal.subject)
