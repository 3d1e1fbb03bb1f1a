"""Multipart sessions through the service layer, with the in-memory bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from media_grpc.adapters.blob_storage import BlobNotFound, ObjectInfo, StoredPart
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    VerificationFailed,
)
from media_grpc.domain.model import FailureReason, Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.uploads import UploadRequest, UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.samples import mp4_like

MiB = 1024 * 1024
ALICE = Principal("alice")
BOB = Principal("bob")
DATA = mp4_like(2 * 5 * MiB + 1000)  # three parts of 5 MiB, 5 MiB and 1000 bytes
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> UploadSettings:
    return UploadSettings(
        multipart_threshold_bytes=6 * MiB,
        part_size_bytes=5 * MiB,
        initial_part_urls=2,
        assembly_grace_seconds=0.2,
    )


@pytest.fixture
def service(fake_ctx: ServiceContext, settings: UploadSettings) -> UploadService:
    fake_ctx.now = lambda: NOW
    return UploadService(fake_ctx, settings)


def start(service: UploadService, data: bytes = DATA, **overrides: object) -> Media:
    fields: dict[str, object] = {
        "purpose": Purpose.POST_VIDEO,
        "file_name": "clip.mp4",
        "content_type": "video/mp4",
        "size_bytes": len(data),
    }
    fields.update(overrides)
    return service.create_session(ALICE, UploadRequest(**fields)).media  # type: ignore[arg-type]


def upload_parts(
    storage: InMemoryBlobStorage, media: Media, data: bytes, numbers: list[int]
) -> dict[int, str]:
    assert media.multipart is not None
    size = media.multipart.part_size
    return {
        n: storage.put_part(media.multipart.upload_id, n, data[(n - 1) * size : n * size])
        for n in numbers
    }


def test_large_file_gets_a_multipart_session_with_the_first_part_urls(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    session = service.create_session(
        ALICE,
        UploadRequest(Purpose.POST_VIDEO, "clip.mp4", "video/mp4", len(DATA)),
    )
    multipart = session.media.multipart
    assert multipart is not None
    assert (multipart.part_size, multipart.part_count) == (5 * MiB, 3)
    assert multipart.upload_id in memory_storage.uploads
    assert session.single_put is None
    assert [u.part_number for u in session.part_urls] == [1, 2]
    assert fake_db.media[session.media.id].multipart == multipart
    assert session.media.expires_at == NOW + timedelta(hours=24)
    assert session.part_urls[0].expires_at == NOW + timedelta(minutes=15)


def test_small_file_gets_a_single_put(service: UploadService) -> None:
    session = service.create_session(
        ALICE, UploadRequest(Purpose.POST_VIDEO, "clip.mp4", "video/mp4", 6 * MiB - 1)
    )
    assert session.single_put is not None
    assert session.media.multipart is None


def test_same_idempotency_key_returns_the_same_multipart_upload(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    first = start(service, idempotency_key="big-1")
    again = start(service, idempotency_key="big-1")
    assert again.id == first.id
    assert again.multipart == first.multipart
    assert len(memory_storage.uploads) == 1


def test_part_urls_are_presigned_for_any_parts_of_the_plan(service: UploadService) -> None:
    media = start(service)
    urls = service.part_urls(ALICE, media.id, [3, 3, 1])
    assert [u.part_number for u in urls] == [1, 3]
    assert "partNumber=3" in urls[1].request.url
    assert [u.request.headers["Content-Length"] for u in urls] == [str(5 * MiB), "1000"]


@pytest.mark.parametrize("numbers", [[], [0], [4], [1, 2, -1], list(range(1, 1002))])
def test_part_numbers_outside_the_plan_or_too_many_are_invalid(
    service: UploadService, numbers: list[int]
) -> None:
    media = start(service)
    with pytest.raises(InvalidArgument) as raised:
        service.part_urls(ALICE, media.id, numbers)
    assert raised.value.field == "part_numbers"


def test_part_urls_of_someone_elses_media_are_refused(service: UploadService) -> None:
    media = start(service)
    with pytest.raises(PermissionDenied):
        service.part_urls(BOB, media.id, [1])
    with pytest.raises(PermissionDenied):
        service.uploaded_parts(BOB, media.id)


def test_fresh_part_urls_after_the_first_expired_never_outlive_the_session(
    service: UploadService, fake_ctx: ServiceContext
) -> None:
    media = start(service)
    later = NOW + timedelta(minutes=20)
    fake_ctx.now = lambda: later
    [fresh] = service.part_urls(ALICE, media.id, [1])
    assert fresh.expires_at == later + timedelta(minutes=15)
    near_the_end = media.expires_at - timedelta(seconds=60)
    fake_ctx.now = lambda: near_the_end
    [last] = service.part_urls(ALICE, media.id, [1])
    assert last.expires_at == media.expires_at


def test_part_urls_after_the_session_expired_are_refused(
    service: UploadService, fake_ctx: ServiceContext
) -> None:
    media = start(service)
    fake_ctx.now = lambda: media.expires_at + timedelta(seconds=1)
    with pytest.raises(FailedPrecondition, match="expired"):
        service.part_urls(ALICE, media.id, [1])


def test_single_put_sessions_have_no_parts(service: UploadService) -> None:
    media = start(service, data=DATA[: 6 * MiB - 1])
    with pytest.raises(FailedPrecondition, match="single-PUT"):
        service.part_urls(ALICE, media.id, [1])


def test_uploaded_parts_lists_what_storage_holds(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service)
    etags = upload_parts(memory_storage, media, DATA, [1, 3])
    session, parts = service.uploaded_parts(ALICE, media.id)
    assert session == media.multipart
    assert [(p.part_number, p.etag) for p in parts] == [(1, etags[1]), (3, etags[3])]
    assert parts[1].size == 1000


def test_complete_assembles_the_parts_and_pins_the_object(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service, sha256=hashlib.sha256(DATA).hexdigest())
    etags = upload_parts(memory_storage, media, DATA, [1, 2, 3])
    done = service.complete_upload(ALICE, media.id, [(n, e.strip('"')) for n, e in etags.items()])
    assert done.status is Status.UPLOADED
    assert done.mime_type == "video/mp4"
    assert memory_storage.objects[media.storage_key].data == DATA
    assert done.etag == memory_storage.head(media.storage_key).etag
    assert memory_storage.uploads == {}
    assert [(j.media_id, j.etag) for j in fake_db.published] == [(media.id, done.etag)]
    assert {etag for *_, etag in memory_storage.reads} == {done.etag}


def test_complete_with_a_part_missing_in_storage_keeps_the_session_open(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    etags = upload_parts(memory_storage, media, DATA, [1, 3])
    declared = [(1, etags[1]), (2, '"never-uploaded"'), (3, etags[3])]
    with pytest.raises(FailedPrecondition, match="no part 2"):
        service.complete_upload(ALICE, media.id, declared)
    assert fake_db.media[media.id].status is Status.PENDING
    etags |= upload_parts(memory_storage, media, DATA, [2])
    done = service.complete_upload(ALICE, media.id, sorted(etags.items()))
    assert done.status is Status.UPLOADED


def test_complete_with_a_wrong_etag_is_refused_without_failing_the_media(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    etags = upload_parts(memory_storage, media, DATA, [1, 2, 3])
    etags[2] = '"0123456789abcdef0123456789abcdef"'
    with pytest.raises(FailedPrecondition, match="ETag given for part 2"):
        service.complete_upload(ALICE, media.id, sorted(etags.items()))
    assert fake_db.media[media.id].status is Status.PENDING
    assert media.multipart is not None and media.multipart.upload_id in memory_storage.uploads


def test_complete_with_a_short_middle_part_is_refused_without_failing_the_media(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    etags = upload_parts(memory_storage, media, DATA, [1, 3])
    assert media.multipart is not None
    etags[2] = memory_storage.put_part(media.multipart.upload_id, 2, b"x" * 100)
    with pytest.raises(FailedPrecondition, match="part 2 holds 100 bytes"):
        service.complete_upload(ALICE, media.id, sorted(etags.items()))
    assert fake_db.media[media.id].status is Status.PENDING


@pytest.mark.parametrize(
    "declared",
    [[], [(1, "a"), (2, "b")], [(1, "a"), (2, "b"), (3, "c"), (3, "c")], [(1, "a"), (4, "d")]],
)
def test_complete_must_declare_every_part_once(
    service: UploadService, declared: list[tuple[int, str]]
) -> None:
    media = start(service)
    with pytest.raises(InvalidArgument) as raised:
        service.complete_upload(ALICE, media.id, declared)
    assert raised.value.field == "parts"


def test_a_declared_sha256_is_left_to_the_job_and_completion_reads_only_the_first_bytes(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service, sha256="0" * 64)
    etags = upload_parts(memory_storage, media, DATA, [1, 2, 3])
    done = service.complete_upload(ALICE, media.id, sorted(etags.items()))
    assert done.status is Status.UPLOADED
    assert [(r[1], r[2]) for r in memory_storage.reads] == [(0, 64 * 1024 - 1)]
    assert fake_db.published[0].media_id == media.id


def test_upload_assembled_by_a_concurrent_completion_still_completes_once(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    assert media.multipart is not None
    etags = sorted(upload_parts(memory_storage, media, DATA, [1, 2, 3]).items())
    memory_storage.complete_multipart_upload(media.storage_key, media.multipart.upload_id, etags)
    done = service.complete_upload(ALICE, media.id, etags)
    again = service.complete_upload(ALICE, media.id, etags)
    assert done.status is again.status is Status.UPLOADED
    assert len(fake_db.published) == 1


class AssembledElsewhere(InMemoryBlobStorage):
    """Storage while another server's completion assembles the upload: the upload is gone (at
    ListParts, or at CompleteMultipartUpload when ``listed`` keeps the parts listed before),
    and the object shows only after ``hidden_heads`` HEADs, as some stores order it."""

    def __init__(self, hidden_heads: int) -> None:
        super().__init__()
        self.hidden_heads = hidden_heads
        self.heads = 0
        self.listed: list[StoredPart] | None = None

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        return self.listed if self.listed is not None else super().list_parts(key, upload_id)

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> str:
        raise BlobNotFound(upload_id)  # the other server's completion assembled it first

    def head(self, key: str) -> ObjectInfo:
        self.heads += 1
        if self.heads <= self.hidden_heads:
            raise BlobNotFound(key)
        return super().head(key)


@pytest.mark.parametrize("gone_at", ["listing", "assembly"])
def test_an_upload_another_server_is_assembling_completes_once_its_object_shows(
    fake_db: FakeDatabase, settings: UploadSettings, gone_at: str
) -> None:
    storage = AssembledElsewhere(hidden_heads=3)
    service = UploadService(ServiceContext(fake_db.uow, storage, now=lambda: NOW), settings)
    media = start(service)
    assert media.multipart is not None
    upload_id = media.multipart.upload_id
    etags = sorted(upload_parts(storage, media, DATA, [1, 2, 3]).items())
    if gone_at == "assembly":
        storage.listed = storage.list_parts(media.storage_key, upload_id)
    InMemoryBlobStorage.complete_multipart_upload(storage, media.storage_key, upload_id, etags)

    done = service.complete_upload(ALICE, media.id, etags)

    assert done.status is Status.UPLOADED
    assert storage.heads > storage.hidden_heads  # waited through the hidden HEADs
    assert storage.objects[media.storage_key].data == DATA  # nothing emptied
    assert len(fake_db.published) == 1


def test_upload_gone_from_storage_without_an_object_fails_the_media(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    assert media.multipart is not None
    etags = sorted(upload_parts(memory_storage, media, DATA, [1, 2, 3]).items())
    memory_storage.abort_multipart_upload(media.storage_key, media.multipart.upload_id)
    with pytest.raises(VerificationFailed) as raised:
        service.complete_upload(ALICE, media.id, etags)
    assert raised.value.reason == FailureReason.OBJECT_MISSING.value
    assert fake_db.media[media.id].status is Status.FAILED


def test_abort_frees_the_upload_and_fails_the_media_and_completing_after_is_refused(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service)
    etags = sorted(upload_parts(memory_storage, media, DATA, [1, 2, 3]).items())
    aborted = service.abort_upload(ALICE, media.id)
    again = service.abort_upload(ALICE, media.id)
    assert aborted.status is again.status is Status.FAILED
    assert aborted.failure is not None and aborted.failure.reason is FailureReason.ABORTED
    assert memory_storage.uploads == {}
    with pytest.raises(FailedPrecondition, match="ABORTED"):
        service.complete_upload(ALICE, media.id, etags)
    with pytest.raises(FailedPrecondition):
        service.uploaded_parts(ALICE, media.id)
    assert fake_db.published == []


def test_abort_of_someone_elses_upload_is_refused(service: UploadService) -> None:
    media = start(service)
    with pytest.raises(PermissionDenied):
        service.abort_upload(BOB, media.id)


def test_abort_of_a_completed_upload_is_refused(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service)
    etags = sorted(upload_parts(memory_storage, media, DATA, [1, 2, 3]).items())
    service.complete_upload(ALICE, media.id, etags)
    with pytest.raises(FailedPrecondition, match="DeleteMedia"):
        service.abort_upload(ALICE, media.id)
    assert media.storage_key in memory_storage.objects


class RacingStorage(InMemoryBlobStorage):
    """Runs ``competitor`` (another call with the same key) just before the first upload starts."""

    def __init__(self) -> None:
        super().__init__()
        self.competitor: Callable[[], object] | None = None

    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        if self.competitor is not None:
            run, self.competitor = self.competitor, None
            run()
        return super().create_multipart_upload(key, content_type=content_type)


def test_losing_a_race_on_an_idempotency_key_frees_the_losers_upload_and_replays_the_winner(
    fake_ctx: ServiceContext, settings: UploadSettings
) -> None:
    storage = RacingStorage()
    fake_ctx.storage = storage
    service = UploadService(fake_ctx, settings)
    winner: list[Media] = []
    storage.competitor = lambda: winner.append(start(service, idempotency_key="race"))

    loser = start(service, idempotency_key="race")

    assert loser.id == winner[0].id
    assert loser.multipart == winner[0].multipart
    assert list(storage.uploads) == [winner[0].multipart.upload_id]  # type: ignore[union-attr]
