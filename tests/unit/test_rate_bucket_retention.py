"""The retention of idle rate-limit buckets must outlast the slowest bucket's refill: the
cleanup deletes a row as if it were full, which it is only once it has had time to refill."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from media_grpc.config import Settings
from media_grpc.config.lifecycle import RATE_BUCKET_CLOCK_SKEW_SECONDS, LifecycleSettings
from media_grpc.config.limits import LimitSettings


def test_the_defaults_keep_idle_buckets_longer_than_the_longest_refill() -> None:
    settings = Settings()

    refill, source = settings.limits.longest_refill()

    assert (refill, source) == (
        50.0,
        "MEDIA_LIMITS__RETRY_BURST / MEDIA_LIMITS__RETRIES_PER_SECOND",
    )
    assert settings.lifecycle.rate_bucket_retention_seconds == 3600
    assert (
        settings.lifecycle.rate_bucket_retention_seconds >= refill + RATE_BUCKET_CLOCK_SKEW_SECONDS
    )


def test_a_retention_shorter_than_the_longest_refill_plus_skew_is_refused_naming_both() -> None:
    limits = LimitSettings(completions_per_second=0.01, completion_burst=40)  # 4000 s
    with pytest.raises(ValidationError) as refused:
        Settings(limits=limits, lifecycle=LifecycleSettings(rate_bucket_retention_seconds=4000))

    message = str(refused.value)
    assert "MEDIA_LIFECYCLE__RATE_BUCKET_RETENTION_SECONDS (4000)" in message
    assert (
        "MEDIA_LIMITS__COMPLETION_BURST / MEDIA_LIMITS__COMPLETIONS_PER_SECOND (4000 s)" in message
    )
    assert "raise it to 4060 or more" in message


def test_a_retention_of_exactly_the_refill_plus_skew_is_accepted() -> None:
    limits = LimitSettings(upload_sessions_per_second=0.01, upload_session_burst=50)  # 5000 s
    retention = 5000 + RATE_BUCKET_CLOCK_SKEW_SECONDS

    settings = Settings(
        limits=limits, lifecycle=LifecycleSettings(rate_bucket_retention_seconds=retention)
    )

    assert settings.limits.longest_refill() == (
        5000.0,
        "MEDIA_LIMITS__UPLOAD_SESSION_BURST / MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND",
    )


def test_the_environment_is_checked_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_LIMITS__RETRIES_PER_SECOND", "0.001")  # 5 / 0.001 = 5000 s
    with pytest.raises(ValidationError, match="MEDIA_LIMITS__RETRY_BURST"):
        Settings()

    monkeypatch.setenv("MEDIA_LIFECYCLE__RATE_BUCKET_RETENTION_SECONDS", "5060")
    assert Settings().lifecycle.rate_bucket_retention_seconds == 5060
