"""Per-owner limits on CreateUploadSession, with a clock the test moves."""

from __future__ import annotations

import pytest

from media_grpc.config.limits import LimitSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.domain.model import Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.limits import UploadAdmission
from media_grpc.service.uploads import UploadRequest, UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(**overrides: object) -> UploadRequest:
    fields: dict[str, object] = {
        "purpose": Purpose.POST_IMAGE,
        "file_name": "cat.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 100,
    }
    fields.update(overrides)
    return UploadRequest(**fields)  # type: ignore[arg-type]


def uploads(ctx: ServiceContext, clock: Clock, **limits: object) -> UploadService:
    settings = LimitSettings(**limits)  # type: ignore[arg-type]
    return UploadService(ctx, UploadSettings(), admission=UploadAdmission(settings, clock))


def test_bucket_grants_the_burst_then_says_how_long_to_wait(fake_ctx: ServiceContext) -> None:
    clock = Clock()
    service = uploads(fake_ctx, clock, upload_sessions_per_second=2.0, upload_session_burst=3)
    for _ in range(3):
        service.create_session(Principal("alice"), request())
    with pytest.raises(ResourceExhausted) as raised:
        service.create_session(Principal("alice"), request())
    assert raised.value.retry_after_seconds == pytest.approx(0.5)
    clock.now += 0.5
    service.create_session(Principal("alice"), request())


def test_refill_never_exceeds_the_burst(fake_ctx: ServiceContext) -> None:
    clock = Clock()
    service = uploads(fake_ctx, clock, upload_sessions_per_second=10.0, upload_session_burst=2)
    service.create_session(Principal("alice"), request())
    clock.now += 3600
    service.create_session(Principal("alice"), request())
    service.create_session(Principal("alice"), request())
    with pytest.raises(ResourceExhausted):
        service.create_session(Principal("alice"), request())


def test_a_clock_behind_the_stored_one_refills_nothing(fake_ctx: ServiceContext) -> None:
    clock = Clock()
    service = uploads(fake_ctx, clock, upload_sessions_per_second=1.0, upload_session_burst=1)
    service.create_session(Principal("alice"), request())
    clock.now -= 30  # another server's clock, behind this one
    with pytest.raises(ResourceExhausted) as raised:
        service.create_session(Principal("alice"), request())
    assert raised.value.retry_after_seconds == pytest.approx(1.0)


def test_a_refused_call_keeps_no_state(fake_ctx: ServiceContext, fake_db: FakeDatabase) -> None:
    clock = Clock()
    service = uploads(fake_ctx, clock, upload_sessions_per_second=1.0, upload_session_burst=1)
    service.create_session(Principal("alice"), request())
    before = dict(fake_db.buckets)
    for _ in range(3):
        with pytest.raises(ResourceExhausted):
            service.create_session(Principal("alice"), request())
    assert fake_db.buckets == before
    clock.now += 1.0
    service.create_session(Principal("alice"), request())


def test_create_session_beyond_the_burst_is_resource_exhausted_with_retry_delay(
    fake_ctx: ServiceContext,
) -> None:
    clock = Clock()
    service = uploads(fake_ctx, clock, upload_sessions_per_second=0.5, upload_session_burst=2)
    service.create_session(Principal("alice"), request())
    service.create_session(Principal("alice"), request())
    with pytest.raises(ResourceExhausted) as raised:
        service.create_session(Principal("alice"), request())
    assert raised.value.retry_after_seconds == pytest.approx(2.0)
    service.create_session(Principal("bob"), request())
    clock.now += 2.0
    service.create_session(Principal("alice"), request())


def test_idempotent_replays_take_no_token(fake_ctx: ServiceContext) -> None:
    service = uploads(fake_ctx, Clock(), upload_session_burst=1)
    first = service.create_session(Principal("alice"), request(idempotency_key="k"))
    again = service.create_session(Principal("alice"), request(idempotency_key="k"))
    assert again.media.id == first.media.id


def test_pending_sessions_are_capped_per_owner(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    service = uploads(fake_ctx, Clock(), max_pending_sessions=2, upload_session_burst=100)
    for _ in range(2):
        service.create_session(Principal("alice"), request())
    with pytest.raises(ResourceExhausted, match="2 upload sessions pending") as raised:
        service.create_session(Principal("alice"), request())
    assert 1 <= raised.value.retry_after_seconds <= UploadSettings().url_ttl_seconds
    service.create_session(Principal("bob"), request())


def test_expired_pending_sessions_do_not_count(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    service = uploads(fake_ctx, Clock(), max_pending_sessions=1, upload_session_burst=100)
    first = service.create_session(Principal("alice"), request())
    fake_db.media[first.media.id].expires_at = first.media.created_at
    second = service.create_session(Principal("alice"), request())
    assert second.media.id != first.media.id
    assert fake_db.media[second.media.id].status is Status.PENDING


def test_a_service_creating_for_an_owner_spends_the_owners_tokens(
    fake_ctx: ServiceContext,
) -> None:
    service = uploads(fake_ctx, Clock(), upload_session_burst=1)
    gateway = Principal("gateway", is_service=True)
    service.create_session(gateway, request(owner_id="alice"))
    with pytest.raises(ResourceExhausted):
        service.create_session(Principal("alice"), request())
    service.create_session(gateway, request(owner_id="bob"))


def test_a_refused_multipart_session_starts_no_multipart_upload(
    fake_ctx: ServiceContext, memory_storage: InMemoryBlobStorage
) -> None:
    service = uploads(fake_ctx, Clock(), upload_session_burst=1)
    big = UploadSettings().multipart_threshold_bytes
    service.create_session(
        Principal("alice"),
        request(purpose=Purpose.POST_VIDEO, size_bytes=big, content_type="video/mp4"),
    )
    with pytest.raises(ResourceExhausted):
        service.create_session(
            Principal("alice"),
            request(purpose=Purpose.POST_VIDEO, size_bytes=big, content_type="video/mp4"),
        )
    assert len(memory_storage.uploads) == 1
