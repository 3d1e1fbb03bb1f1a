"""DeleteMedia through the service layer, with fakes."""

from __future__ import annotations

import pytest

from media_grpc.domain import keys
from media_grpc.domain.errors import MediaNotFound, PermissionDenied
from media_grpc.domain.model import MultipartSession, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media

ALICE = Principal("alice")
BOB = Principal("bob")
POST_SERVICE = Principal("post-service", is_service=True)


@pytest.fixture
def deletion(fake_ctx: ServiceContext) -> MediaDeletion:
    return MediaDeletion(fake_ctx)


def test_delete_removes_original_variants_and_everything_under_the_output_prefix(
    deletion: MediaDeletion, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = make_media("alice", purpose=Purpose.POST_VIDEO)
    fake_db.media[media.id] = media
    prefix = keys.output_prefix(media.storage_key, video=True)
    for key in [media.storage_key, *(v.storage_key for v in media.variants)]:
        memory_storage.put(key, b"x")
    for segment in ("720p/seg-0001.ts", "720p/index.m3u8", "master.m3u8"):
        memory_storage.put(prefix + segment, b"x")
    memory_storage.put("posts/alice/someone-else.jpg", b"keep")
    deleted = deletion.delete(ALICE, media.id)
    assert deleted.status is Status.DELETED
    assert deleted.deleted_at is not None
    assert fake_db.media[media.id].status is Status.DELETED
    assert list(memory_storage.objects) == ["posts/alice/someone-else.jpg"]


def test_deleting_twice_succeeds(deletion: MediaDeletion, fake_db: FakeDatabase) -> None:
    media = make_media("alice")
    fake_db.media[media.id] = media
    first = deletion.delete(ALICE, media.id)
    second = deletion.delete(ALICE, media.id)
    assert second.status is Status.DELETED
    assert second.deleted_at == first.deleted_at


def test_deleting_someone_elses_media_is_denied_and_changes_nothing(
    deletion: MediaDeletion, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = make_media("alice")
    fake_db.media[media.id] = media
    memory_storage.put(media.storage_key, b"x")
    with pytest.raises(PermissionDenied):
        deletion.delete(BOB, media.id)
    assert fake_db.media[media.id].status is Status.READY
    assert memory_storage.list_keys(media.storage_key) == [media.storage_key]


def test_service_principals_may_delete_any_media(
    deletion: MediaDeletion, fake_db: FakeDatabase
) -> None:
    media = make_media("alice")
    fake_db.media[media.id] = media
    assert deletion.delete(POST_SERVICE, media.id).status is Status.DELETED


def test_deleting_a_pending_multipart_upload_aborts_it(
    deletion: MediaDeletion, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = make_media("alice", status=Status.PENDING)
    upload_id = memory_storage.create_multipart_upload(media.storage_key, content_type="image/jpeg")
    memory_storage.put_part(upload_id, 1, b"x" * 10)
    media.multipart = MultipartSession(upload_id=upload_id, part_size=10, part_count=1)
    fake_db.media[media.id] = media
    deletion.delete(ALICE, media.id)
    assert upload_id not in memory_storage.uploads
    assert fake_db.media[media.id].status is Status.DELETED


def test_deleting_an_attached_media_detaches_it(
    deletion: MediaDeletion, fake_db: FakeDatabase
) -> None:
    media = make_media("alice", post_id="post-1")
    fake_db.media[media.id] = media
    deletion.delete(ALICE, media.id)
    assert fake_db.media[media.id].post_id is None


def test_deleting_unknown_media_is_not_found(deletion: MediaDeletion) -> None:
    with pytest.raises(MediaNotFound):
        deletion.delete(ALICE, "nope")
