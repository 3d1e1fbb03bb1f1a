"""Media whose objects the embedded S3 could not restore are failed with that reason."""

from __future__ import annotations

from media_grpc.domain.model import FailureReason, Status
from media_grpc.service.context import ServiceContext
from media_grpc.service.storage_restore import fail_media_of_lost_objects, media_ids_in
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media


def context(db: FakeDatabase) -> ServiceContext:
    return ServiceContext(uow=db.uow, storage=InMemoryBlobStorage())


def test_a_processing_media_whose_original_was_lost_fails_naming_the_cause() -> None:
    db = FakeDatabase()
    media = make_media("ann", status=Status.PROCESSING)
    db.media[media.id] = media

    failed = fail_media_of_lost_objects(
        context(db), {media.storage_key: "its data file cannot be read"}
    )

    assert failed == [media.id]
    stored = db.media[media.id]
    assert stored.status is Status.FAILED
    assert stored.failure is not None
    assert stored.failure.reason is FailureReason.OBJECT_MISSING
    assert "could not restore" in stored.failure.message
    assert "its data file cannot be read" in stored.failure.message


def test_a_ready_media_stays_ready_and_is_only_logged() -> None:
    db = FakeDatabase()
    media = make_media("ann", status=Status.READY)
    db.media[media.id] = media

    assert fail_media_of_lost_objects(context(db), {media.variants[0].storage_key: "gone"}) == []
    assert db.media[media.id].status is Status.READY


def test_keys_naming_no_known_media_are_ignored() -> None:
    db = FakeDatabase()
    assert fail_media_of_lost_objects(context(db), {"notes/readme.txt": "gone"}) == []


def test_variant_keys_name_their_media() -> None:
    media = make_media("ann")
    assert media_ids_in([media.variants[0].storage_key]) == {
        media.id: media.variants[0].storage_key
    }
