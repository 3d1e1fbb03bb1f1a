"""Upload sessions through the service layer, with fakes (no gRPC, no services)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    VerificationFailed,
)
from media_grpc.domain.model import FailureReason, JobKind, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.uploads import UploadRequest, UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage

ALICE = Principal("alice")
BOB = Principal("bob")
POST_SERVICE = Principal("post-service", is_service=True)
DATA = b"\xff\xd8\xff\xe0" + b"x" * 96


def request(**overrides: object) -> UploadRequest:
    fields: dict[str, object] = {
        "purpose": Purpose.POST_IMAGE,
        "file_name": "cat.jpg",
        "content_type": "image/jpeg",
        "size_bytes": len(DATA),
    }
    fields.update(overrides)
    return UploadRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def service(fake_ctx: ServiceContext, upload_settings: UploadSettings) -> UploadService:
    return UploadService(fake_ctx, upload_settings)


def test_create_session_records_a_pending_media_under_an_owner_scoped_key(
    service: UploadService, fake_db: FakeDatabase
) -> None:
    session = service.create_session(ALICE, request())
    stored = fake_db.media[session.media.id]
    assert stored.status is Status.PENDING
    assert stored.storage_key.startswith("uploads/posts/alice/")
    assert stored.storage_key.endswith(f"-{stored.id}.jpg")
    assert session.single_put is not None
    assert session.single_put.headers["Content-Length"] == str(len(DATA))


def test_file_name_never_reaches_the_storage_key_and_is_stored_sanitised(
    service: UploadService,
) -> None:
    session = service.create_session(ALICE, request(file_name="../../etc/passwd\x00\n.jpg"))
    assert "passwd" not in session.media.storage_key
    assert session.media.file_name == "passwd.jpg"


def test_ten_kilobyte_file_name_is_rejected(service: UploadService) -> None:
    with pytest.raises(InvalidArgument) as raised:
        service.create_session(ALICE, request(file_name="a" * 10_000))
    assert raised.value.field == "file_name"


def test_declared_type_not_allowed_for_purpose_is_rejected(service: UploadService) -> None:
    with pytest.raises(InvalidArgument) as raised:
        service.create_session(ALICE, request(content_type="text/html"))
    assert raised.value.field == "content_type"


def test_malformed_sha256_is_rejected(service: UploadService) -> None:
    with pytest.raises(InvalidArgument) as raised:
        service.create_session(ALICE, request(sha256="abc"))
    assert raised.value.field == "sha256"


def test_declared_sha256_is_signed_into_the_put(service: UploadService) -> None:
    session = service.create_session(ALICE, request(sha256="ab" * 32))
    assert session.single_put is not None
    assert "x-amz-checksum-sha256" in session.single_put.headers


def test_same_idempotency_key_and_parameters_return_the_same_session(
    service: UploadService,
) -> None:
    first = service.create_session(ALICE, request(idempotency_key="k1"))
    again = service.create_session(ALICE, request(idempotency_key="k1"))
    assert again.media.id == first.media.id


def test_same_idempotency_key_with_other_parameters_is_already_exists(
    service: UploadService,
) -> None:
    service.create_session(ALICE, request(idempotency_key="k2"))
    with pytest.raises(AlreadyExists):
        service.create_session(ALICE, request(idempotency_key="k2", file_name="dog.jpg"))


def test_idempotency_keys_are_per_owner(service: UploadService) -> None:
    mine = service.create_session(ALICE, request(idempotency_key="shared"))
    theirs = service.create_session(BOB, request(idempotency_key="shared"))
    assert mine.media.id != theirs.media.id


def test_user_cannot_create_a_session_for_another_owner(service: UploadService) -> None:
    with pytest.raises(PermissionDenied):
        service.create_session(ALICE, request(owner_id="bob"))


def test_service_principal_creates_a_session_for_a_named_owner(service: UploadService) -> None:
    session = service.create_session(POST_SERVICE, request(owner_id="carol"))
    assert session.media.owner_id == "carol"


def test_complete_upload_marks_uploaded_and_queues_one_image_job(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    session = service.create_session(ALICE, request())
    memory_storage.put(session.media.storage_key, DATA, "image/jpeg")
    media = service.complete_upload(ALICE, session.media.id)
    again = service.complete_upload(ALICE, session.media.id)
    assert media.status is Status.UPLOADED
    assert again.status is Status.UPLOADED
    assert media.etag == memory_storage.head(media.storage_key).etag
    assert [job.kind for job in fake_db.published] == [JobKind.IMAGE]
    assert fake_db.published[0].etag == media.etag


def test_complete_upload_of_a_short_object_fails_the_media_and_deletes_the_object(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    session = service.create_session(ALICE, request())
    memory_storage.put(session.media.storage_key, DATA[:10], "image/jpeg")
    with pytest.raises(VerificationFailed) as raised:
        service.complete_upload(ALICE, session.media.id)
    assert raised.value.reason == FailureReason.SIZE_MISMATCH.value
    stored = fake_db.media[session.media.id]
    assert stored.status is Status.FAILED
    assert stored.failure is not None and stored.failure.reason is FailureReason.SIZE_MISMATCH
    assert memory_storage.objects == {}
    assert fake_db.published == []
    with pytest.raises(FailedPrecondition):
        service.complete_upload(ALICE, session.media.id)


def test_another_user_cannot_complete_my_upload(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    session = service.create_session(ALICE, request())
    memory_storage.put(session.media.storage_key, DATA, "image/jpeg")
    with pytest.raises(PermissionDenied):
        service.complete_upload(BOB, session.media.id)


def test_completed_uploads_are_counted_once_when_complete_upload_is_repeated(
    service: UploadService, memory_storage: InMemoryBlobStorage
) -> None:
    def completed() -> float:
        value = REGISTRY.get_sample_value(
            "media_uploads_completed_total", {"purpose": "POST_IMAGE"}
        )
        return value or 0.0

    session = service.create_session(ALICE, request())
    memory_storage.put(session.media.storage_key, DATA, "image/jpeg")
    before = completed()
    service.complete_upload(ALICE, session.media.id)
    service.complete_upload(ALICE, session.media.id)
    assert completed() - before == 1.0
