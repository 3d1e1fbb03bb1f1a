"""What CompleteUpload checks of a single-PUT object, from its first bytes only: size, stored
Content-Type, real type, expiry, pinning (the sha256 is the job's)."""

from __future__ import annotations

import pytest

from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import InvalidArgument, VerificationFailed
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


@pytest.mark.parametrize("sha256", [None, "f" * 64], ids=["no-sha256", "wrong-sha256"])
def test_completion_reads_only_the_first_bytes_and_leaves_the_sha256_to_the_job(
    service: UploadService,
    memory_storage: InMemoryBlobStorage,
    fake_db: FakeDatabase,
    sha256: str | None,
) -> None:
    data = mp4_like(200_000)
    media = start(service, data, "video/mp4", Purpose.POST_VIDEO, sha256=sha256)
    memory_storage.put(media.storage_key, data)
    done = service.complete_upload(ALICE, media.id)
    assert done.status is Status.UPLOADED
    assert done.sha256 == sha256
    assert [(r[1], r[2], r[3]) for r in memory_storage.reads] == [(0, 64 * 1024 - 1, done.etag)]
    assert fake_db.published[0].media_id == media.id


@pytest.mark.parametrize("stored_as", ["text/html", "application/octet-stream", ""])
def test_an_object_stored_with_another_content_type_is_refused_as_type_mismatch(
    service: UploadService,
    memory_storage: InMemoryBlobStorage,
    fake_db: FakeDatabase,
    stored_as: str,
) -> None:
    media = start(service, JPEG, "image/jpeg")
    memory_storage.put(media.storage_key, JPEG, stored_as)  # JPEG magic, served as stored_as
    assert refused(service, memory_storage, fake_db, media) is FailureReason.TYPE_MISMATCH
    failure = fake_db.media[media.id].failure
    assert failure is not None and "stored as" in failure.message


def test_a_content_type_differing_only_in_case_or_parameters_is_the_same(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    media = start(service, JPEG, "image/jpeg")
    memory_storage.put(media.storage_key, JPEG, "Image/JPEG; charset=binary")
    assert service.complete_upload(ALICE, media.id).status is Status.UPLOADED


def test_a_completion_after_the_session_expired_is_refused_and_empties_storage(
    service: UploadService,
    memory_storage: InMemoryBlobStorage,
    fake_db: FakeDatabase,
    fake_ctx: ServiceContext,
) -> None:
    media = start(service, JPEG, "image/jpeg")
    memory_storage.put(media.storage_key, JPEG)
    fake_ctx.now = lambda: media.expires_at
    assert refused(service, memory_storage, fake_db, media) is FailureReason.EXPIRED


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
