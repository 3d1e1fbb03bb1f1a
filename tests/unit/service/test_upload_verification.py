"""What CompleteUpload checks of a single-PUT object: real type, sha256, pinning."""

from __future__ import annotations

import hashlib

import pytest

from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import Conflict, InvalidArgument, VerificationFailed
from media_grpc.domain.model import FailureReason, Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.uploads import UploadRequest, UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.samples import HTML, ftyp, image_bytes, mp4_like

ALICE = Principal("alice")
JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG")


@pytest.fixture
def service(fake_ctx: ServiceContext, upload_settings: UploadSettings) -> UploadService:
    return UploadService(fake_ctx, upload_settings)


def start(
    service: UploadService,
    data: bytes,
    content_type: str,
    purpose: Purpose = Purpose.POST_IMAGE,
    sha256: str | None = None,
) -> Media:
    request = UploadRequest(purpose, "file", content_type, len(data), sha256=sha256)
    return service.create_session(ALICE, request).media


def refused(
    service: UploadService, storage: InMemoryBlobStorage, db: FakeDatabase, media: Media
) -> FailureReason:
    with pytest.raises(VerificationFailed) as raised:
        service.complete_upload(ALICE, media.id)
    stored = db.media[media.id]
    assert stored.status is Status.FAILED
    assert stored.failure is not None
    assert raised.value.reason == stored.failure.reason.value
    assert storage.list_keys(media.storage_key) == []
    assert db.published == []
    return stored.failure.reason


@pytest.mark.parametrize(
    ("data", "declared", "purpose", "reason"),
    [
        (PNG, "image/jpeg", Purpose.POST_IMAGE, FailureReason.TYPE_MISMATCH),
        (HTML, "image/png", Purpose.POST_IMAGE, FailureReason.UNSUPPORTED_FORMAT),
        (mp4_like(4096), "image/jpeg", Purpose.PROFILE_IMAGE, FailureReason.UNSUPPORTED_FORMAT),
        (JPEG, "video/mp4", Purpose.POST_VIDEO, FailureReason.UNSUPPORTED_FORMAT),
        (mp4_like(4096), "video/webm", Purpose.POST_VIDEO, FailureReason.TYPE_MISMATCH),
    ],
)
def test_bytes_of_the_wrong_type_fail_the_media_and_leave_nothing_in_storage(
    service: UploadService,
    memory_storage: InMemoryBlobStorage,
    fake_db: FakeDatabase,
    data: bytes,
    declared: str,
    purpose: Purpose,
    reason: FailureReason,
) -> None:
    media = start(service, data, declared, purpose)
    memory_storage.put(media.storage_key, data, declared)
    assert refused(service, memory_storage, fake_db, media) is reason


def test_html_rejection_says_what_the_bytes_start_with(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service, HTML, "image/png")
    memory_storage.put(media.storage_key, HTML)
    with pytest.raises(VerificationFailed, match="DOCTYPE"):
        service.complete_upload(ALICE, media.id)


def test_sniffed_type_is_stored_and_queued_when_it_agrees_with_the_declared_one(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    heic = ftyp("heic", "mif1", "heic") + bytes(200)
    media = start(service, heic, "image/heif")
    memory_storage.put(media.storage_key, heic)
    done = service.complete_upload(ALICE, media.id)
    assert done.mime_type == "image/heic"
    assert fake_db.published[0].mime_type == "image/heic"


def test_declared_sha256_is_recomputed_from_storage_pinned_to_the_etag(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service, JPEG, "image/jpeg", sha256=hashlib.sha256(JPEG).hexdigest())
    memory_storage.put(media.storage_key, JPEG)
    done = service.complete_upload(ALICE, media.id)
    assert done.status is Status.UPLOADED
    assert done.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert memory_storage.reads and all(r[3] == done.etag for r in memory_storage.reads)


def test_wrong_sha256_fails_with_checksum_mismatch(
    service: UploadService, memory_storage: InMemoryBlobStorage, fake_db: FakeDatabase
) -> None:
    media = start(service, JPEG, "image/jpeg", sha256="f" * 64)
    memory_storage.put(media.storage_key, JPEG)
    assert refused(service, memory_storage, fake_db, media) is FailureReason.CHECKSUM_MISMATCH


def test_without_a_declared_sha256_only_the_first_bytes_are_read(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    data = mp4_like(200_000)
    media = start(service, data, "video/mp4", Purpose.POST_VIDEO)
    memory_storage.put(media.storage_key, data)
    service.complete_upload(ALICE, media.id)
    assert [(r[1], r[2]) for r in memory_storage.reads] == [(0, 64 * 1024 - 1)]


def test_version_id_is_pinned_where_the_bucket_keeps_versions(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, upload_settings: UploadSettings
) -> None:
    storage = InMemoryBlobStorage(versioned=True)
    fake_ctx.storage = storage
    service = UploadService(fake_ctx, upload_settings)
    media = start(service, JPEG, "image/jpeg")
    storage.put(media.storage_key, JPEG)
    done = service.complete_upload(ALICE, media.id)
    assert done.version_id == storage.head(media.storage_key).version_id is not None
    assert fake_db.published[0].version_id == done.version_id


class SwappingStorage(InMemoryBlobStorage):
    """A bucket where another PUT lands between the HEAD and the first read."""

    def read_range(self, key: str, start: int, end: int, *, etag: str | None = None) -> bytes:
        if not self.reads:
            self.put(key, PNG[:1] + self.objects[key].data[1:])
        return super().read_range(key, start, end, etag=etag)


def test_object_replaced_during_verification_is_a_conflict_not_a_failure(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, upload_settings: UploadSettings
) -> None:
    storage = SwappingStorage()
    fake_ctx.storage = storage
    service = UploadService(fake_ctx, upload_settings)
    media = start(service, JPEG, "image/jpeg")
    storage.put(media.storage_key, JPEG)
    with pytest.raises(Conflict):
        service.complete_upload(ALICE, media.id)
    assert fake_db.media[media.id].status is Status.PENDING


def test_parts_given_for_a_single_put_session_are_invalid(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service, JPEG, "image/jpeg")
    memory_storage.put(media.storage_key, JPEG)
    with pytest.raises(InvalidArgument) as raised:
        service.complete_upload(ALICE, media.id, [(1, "etag")])
    assert raised.value.field == "parts"


def test_abort_of_a_single_put_session_deletes_what_was_put(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service, JPEG, "image/jpeg")
    memory_storage.put(media.storage_key, JPEG)
    aborted = service.abort_upload(ALICE, media.id)
    assert aborted.status is Status.FAILED
    assert memory_storage.objects == {}
