"""Per-owner rates of the calls besides CreateUploadSession: GetUploadPartUrls,
CompleteUpload and RetryProcessing, each a token bucket per owner (``TokenBuckets``, the same
mechanism as the upload session limit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.domain.principal import Principal
from media_grpc.service.token_buckets import TokenBuckets


class RatedCall(StrEnum):
    PART_URLS = "GetUploadPartUrls"
    COMPLETE = "CompleteUpload"
    RETRY = "RetryProcessing"


class OwnerRates:
    """Admits or refuses one call of an owner; raises ResourceExhausted with the wait."""

    def __init__(
        self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rates = {
            RatedCall.PART_URLS: (settings.part_urls_per_second, settings.part_urls_burst),
            RatedCall.COMPLETE: (settings.completions_per_second, settings.completion_burst),
            RatedCall.RETRY: (settings.retries_per_second, settings.retry_burst),
        }
        self.buckets = {
            call: TokenBuckets(rate, burst, clock) for call, (rate, burst) in self.rates.items()
        }

    def admit(self, call: RatedCall, owner_id: str) -> None:
        wait = self.buckets[call].take(owner_id)
        if wait > 0:
            rate, burst = self.rates[call]
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
