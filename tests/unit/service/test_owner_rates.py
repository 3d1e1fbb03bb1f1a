"""Per-owner rates of GetUploadPartUrls, CompleteUpload and RetryProcessing, with a test clock."""

from __future__ import annotations

import pytest

from media_grpc.adapters.owner_call_rates import InMemoryCallRates
from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.domain.principal import Principal
from media_grpc.service.owner_rates import OwnerRates, RatedCall


def test_each_call_has_its_own_bucket_per_owner_refilled_by_the_clock() -> None:
    now = [0.0]
    rates = OwnerRates(
        LimitSettings(retry_burst=2, retries_per_second=0.5), InMemoryCallRates(), lambda: now[0]
    )
    rates.admit(RatedCall.RETRY, "alice")
    rates.admit(RatedCall.RETRY, "alice")
    with pytest.raises(ResourceExhausted) as refused:
        rates.admit(RatedCall.RETRY, "alice")
    assert refused.value.retry_after_seconds == pytest.approx(2.0)
    assert "RetryProcessing is limited to 0.5 calls per second per owner (burst 2)" in str(
        refused.value
    )
    rates.admit(RatedCall.RETRY, "bob")
    rates.admit(RatedCall.COMPLETE, "alice")
    now[0] = 2.0
    rates.admit(RatedCall.RETRY, "alice")


def test_services_are_not_counted_as_one_owner() -> None:
    rates = OwnerRates(LimitSettings(completion_burst=1), InMemoryCallRates())
    gateway = Principal("gateway", is_service=True)
    for _ in range(5):
        rates.admit_caller(RatedCall.COMPLETE, gateway)
    rates.admit_caller(RatedCall.COMPLETE, Principal("alice"))
    with pytest.raises(ResourceExhausted):
        rates.admit_caller(RatedCall.COMPLETE, Principal("alice"))
