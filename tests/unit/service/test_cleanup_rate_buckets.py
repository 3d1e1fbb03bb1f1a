"""The cleanup forgets per-owner rate-limit buckets left idle for their retention, with fakes:
what goes, what stays, the dry run, and that a forgotten bucket takes as a kept one would."""

from __future__ import annotations

from prometheus_client import REGISTRY

from media_grpc.adapters.owner_call_rates import InMemoryCallRates
from media_grpc.config.limits import LimitSettings
from media_grpc.service.owner_rates import OwnerRates, RatedCall
from tests.fakes import FakeDatabase, InMemoryBlobStorage, InMemoryOwnerLimits
from tests.unit.service.test_cleanup import NOW, cleanup

#: The default retention (MEDIA_LIFECYCLE__RATE_BUCKET_RETENTION_SECONDS).
RETENTION = 3600.0
T = NOW.timestamp()


def forgotten_in_metrics() -> float:
    sample = "media_cleanup_actions_total"
    return REGISTRY.get_sample_value(sample, {"action": "rate_bucket_forgotten"}) or 0.0


def test_buckets_idle_past_the_retention_go_and_recent_ones_stay(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.buckets = {"idle": (0.0, T - RETENTION - 1), "recent": (0.0, T - RETENTION + 1)}
    fake_db.call_buckets = {
        ("idle", "CompleteUpload"): (2.0, T - RETENTION - 1),
        ("idle", "GetUploadPartUrls"): (7.0, T - 2 * RETENTION),
        ("recent", "CompleteUpload"): (0.0, T - 10),
    }
    metric_before = forgotten_in_metrics()

    report = cleanup(fake_db, memory_storage).run()

    assert report.rate_buckets_forgotten == 3
    assert set(fake_db.buckets) == {"recent"}
    assert set(fake_db.call_buckets) == {("recent", "CompleteUpload")}
    assert "idle rate-limit buckets forgotten: 3" in report.lines()
    assert forgotten_in_metrics() - metric_before == 3


def test_the_retention_is_the_setting(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.buckets = {"a": (0.0, T - 100), "b": (0.0, T - 20)}

    report = cleanup(fake_db, memory_storage, rate_bucket_retention_seconds=60).run()

    assert report.rate_buckets_forgotten == 1
    assert set(fake_db.buckets) == {"b"}


def test_idle_buckets_go_in_batches_until_none_is_left(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.buckets = {f"owner-{i}": (0.0, T - RETENTION - i - 1) for i in range(7)}
    fake_db.call_buckets = {(f"owner-{i}", "CompleteUpload"): (0.0, 0.0) for i in range(5)}

    report = cleanup(fake_db, memory_storage, batch_size=3).run()

    # A batch deletes at most 3 rows: 3 + 3 + 1 of owner_limit, then 3 + 2 of owner_call_rate.
    assert report.rate_buckets_forgotten == 12
    assert (fake_db.buckets, fake_db.call_buckets) == ({}, {})


def test_dry_run_counts_idle_buckets_and_deletes_none(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    fake_db.buckets = {"idle": (0.0, T - RETENTION - 1), "recent": (0.0, T)}
    fake_db.call_buckets = {("idle", "RetryProcessing"): (0.0, T - RETENTION - 1)}
    buckets, call_buckets = dict(fake_db.buckets), dict(fake_db.call_buckets)
    commits_before = fake_db.commits

    report = cleanup(fake_db, memory_storage).run(dry_run=True)

    assert report.rate_buckets_forgotten == 2
    assert "idle rate-limit buckets forgotten (would be): 2" in report.lines()
    assert (fake_db.buckets, fake_db.call_buckets) == (buckets, call_buckets)
    assert fake_db.commits == commits_before


def test_a_forgotten_bucket_admits_the_next_call_as_the_kept_one_would() -> None:
    """An owner who emptied their buckets and came back after the retention: with or without
    the row, the next call finds a full bucket."""
    limits = LimitSettings()
    emptied_at = T - RETENTION - 1
    kept = InMemoryOwnerLimits({"alice": (-1.0, emptied_at)})
    swept = InMemoryOwnerLimits({"alice": (-1.0, emptied_at)})
    assert swept.forget_idle(T - RETENTION, 100) == 1

    rate, burst = limits.upload_sessions_per_second, limits.upload_session_burst
    assert swept.take_token("alice", T, rate, burst) == kept.take_token("alice", T, rate, burst)
    assert swept.buckets == kept.buckets == {"alice": (burst - 1.0, T)}

    calls_kept = InMemoryCallRates({("alice", RatedCall.COMPLETE.value): (0.0, emptied_at)})
    calls_swept = InMemoryCallRates({("alice", RatedCall.COMPLETE.value): (0.0, emptied_at)})
    assert calls_swept.forget_idle(T - RETENTION, 100) == 1
    for buckets in (calls_kept, calls_swept):
        OwnerRates(limits, buckets, lambda: T).admit(RatedCall.COMPLETE, "alice")
    assert calls_swept.buckets == calls_kept.buckets
    assert calls_swept.buckets[("alice", "CompleteUpload")] == (limits.completion_burst - 1.0, T)
