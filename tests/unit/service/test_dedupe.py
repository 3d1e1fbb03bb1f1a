"""Dedupe through the service layer, with fakes: a create declaring bytes its owner already
has READY gets a new READY media sharing the objects; deletions keep what another uses."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain import keys
from media_grpc.domain.audit import AuditAction
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion, object_keys
from media_grpc.service.uploads import UploadRequest, UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media
from tests.unit.job_handlers import MakeHandler
from tests.unit.service.test_uploads import DATA
from tests.unit.service.test_uploads import request as upload_request
from tests.unit.uploaded_media import png_bytes, uploaded
from workers.retries import RetryMiddleware

ALICE = Principal("alice")
BOB = Principal("bob")
SHA = hashlib.sha256(DATA).hexdigest()


def request(**overrides: object) -> UploadRequest:
    """The upload of DATA, declaring its sha256."""
    return upload_request(**{"file_name": "again.jpg", "sha256": SHA, **overrides})


@pytest.fixture
def service(fake_ctx: ServiceContext, upload_settings: UploadSettings) -> UploadService:
    return UploadService(fake_ctx, upload_settings)


def stored_ready(
    db: FakeDatabase, storage: InMemoryBlobStorage, owner: str = "alice", **changes: object
) -> Media:
    """A READY media whose job verified DATA, with its frozen original and variants stored."""
    media = replace(
        make_media(owner), size_bytes=len(DATA), verified_sha256=SHA, sha256=None, **changes
    )
    db.media[media.id] = media
    for key in object_keys(media)[1:]:
        storage.put(key, b"x")
    return media


@pytest.fixture
def hit(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> tuple[Media, Media, list[str]]:
    """A READY media with its objects stored, the media a dedupe hit made of it, and the keys
    they share."""
    source = stored_ready(fake_db, memory_storage)
    shared = sorted(memory_storage.objects)
    return source, service.create_session(ALICE, request()).media, shared


def test_a_create_declaring_verified_bytes_gets_a_new_ready_media_sharing_the_objects(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    source = stored_ready(fake_db, memory_storage)
    session = service.create_session(ALICE, request())
    assert session.deduplicated
    assert session.single_put is None and session.part_urls == []
    copy = fake_db.media[session.media.id]
    assert copy.id != source.id
    assert copy.status is Status.READY
    assert copy.file_name == "again.jpg"
    assert copy.source_key == source.storage_key
    assert copy.variants == source.variants
    assert copy.post_id is None
    assert [e.action for e in fake_db.events if e.media_id == copy.id] == [
        AuditAction.SESSION_CREATED,
        AuditAction.UPLOAD_COMPLETED,
        AuditAction.PROCESSING_READY,
    ]


@pytest.mark.parametrize(
    "differs",
    [
        {"owner": "bob"},
        {"purpose": Purpose.PROFILE_IMAGE},
        {"verified": None},
        {"status": Status.DELETED},
        {"size": len(DATA) + 1},
    ],
    ids=["another-owner", "another-purpose", "declared-only", "deleted", "another-size"],
)
def test_a_create_without_the_same_verified_bytes_of_the_owner_gets_an_upload_url(
    service: UploadService,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
    differs: dict[str, object],
) -> None:
    source = stored_ready(fake_db, memory_storage, str(differs.get("owner", "alice")))
    source.purpose = differs.get("purpose", source.purpose)  # type: ignore[assignment]
    source.status = differs.get("status", source.status)  # type: ignore[assignment]
    source.size_bytes = differs.get("size", source.size_bytes)  # type: ignore[assignment]
    if "verified" in differs:
        source.sha256, source.verified_sha256 = SHA, None  # declared, never verified
    session = service.create_session(ALICE, request())
    assert not session.deduplicated
    assert session.single_put is not None
    assert fake_db.media[session.media.id].status is Status.PENDING


def test_the_same_idempotency_key_answers_the_same_dedupe_hit_again(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    stored_ready(fake_db, memory_storage)
    first = service.create_session(ALICE, request(idempotency_key="k1"))
    again = service.create_session(ALICE, request(idempotency_key="k1"))
    assert again.deduplicated and again.media.id == first.media.id


@pytest.mark.parametrize("first", [0, 1], ids=["source-first", "copy-first"])
def test_deleting_either_media_keeps_the_objects_the_other_uses_and_the_last_removes_them(
    hit: tuple[Media, Media, list[str]],
    first: int,
    fake_ctx: ServiceContext,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    *pair, shared = hit
    gone, kept = pair[first], pair[1 - first]
    deletion = MediaDeletion(fake_ctx)
    deletion.delete(ALICE, gone.id)
    assert sorted(memory_storage.objects) == shared
    assert fake_db.media[kept.id].status is Status.READY
    deletion.delete(ALICE, kept.id)
    assert list(memory_storage.objects) == []


def test_the_purge_keeps_shared_objects_until_no_live_media_uses_them(
    hit: tuple[Media, Media, list[str]],
    fake_ctx: ServiceContext,
    fake_db: FakeDatabase,
    memory_storage: InMemoryBlobStorage,
) -> None:
    source, copy, shared = hit
    MediaDeletion(fake_ctx).delete(ALICE, source.id)
    cleanup = CleanupService(
        fake_ctx, LifecycleSettings(deleted_retention_hours=0, unattached_ttl_hours=10_000)
    )
    cleanup.run()
    assert source.id not in fake_db.media
    assert sorted(memory_storage.objects) == shared
    fake_db.media[copy.id].status = Status.DELETED  # two deletions at once both kept them
    cleanup.run()
    assert list(memory_storage.objects) == []


def test_a_profile_image_hit_becomes_current_and_the_replaced_one_keeps_its_objects(
    service: UploadService, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    source = stored_ready(fake_db, memory_storage)
    source.purpose = Purpose.PROFILE_IMAGE
    shared = sorted(memory_storage.objects)
    copy = service.create_session(ALICE, request(purpose=Purpose.PROFILE_IMAGE)).media
    assert fake_db.profile_images["alice"] == copy.id
    assert fake_db.media[source.id].status is Status.DELETED
    assert sorted(memory_storage.objects) == shared
    assert keys.frozen_original_key(copy.objects_key) in memory_storage.objects


def test_the_job_records_the_sha256_it_computed_even_when_none_was_declared(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    data = png_bytes()
    job = uploaded(fake_db, memory_storage, data)
    assert fake_db.media[job.media_id].sha256 is None
    make_handler().handle(job)
    media = fake_db.media[job.media_id]
    assert media.status is Status.READY
    assert media.verified_sha256 == hashlib.sha256(data).hexdigest()


def test_a_declared_sha256_the_job_finds_false_is_never_verified(
    make_handler: MakeHandler, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    job = uploaded(fake_db, memory_storage, png_bytes())
    fake_db.media[job.media_id].sha256 = SHA  # the hash of other bytes
    RetryMiddleware(make_handler(), [10.0]).process(job, attempt=1)
    media = fake_db.media[job.media_id]
    assert media.status is Status.FAILED
    assert media.verified_sha256 is None
