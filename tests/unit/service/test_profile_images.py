"""One profile image per owner, through the service layer with fakes."""

from __future__ import annotations

from datetime import UTC, datetime

from media_grpc.domain import lifecycle
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import profile_images
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.queries import MediaQueries
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
ALICE = Principal("alice")


def stored(fake_db: FakeDatabase, storage: InMemoryBlobStorage, media: Media) -> Media:
    fake_db.media[media.id] = media
    for key in [media.storage_key, *(v.storage_key for v in media.variants)]:
        storage.put(key, b"x")
    return media


def becomes_ready(fake_ctx: ServiceContext, media_id: str) -> list[Media]:
    """What the processing job does when it records READY."""
    with fake_ctx.uow() as uow:
        media = uow.media.get(media_id, for_update=True)
        assert media is not None
        profile_images.hold_owner(uow, media.purpose, media.owner_id, NOW)
        media.status = Status.PROCESSING
        lifecycle.move(media, Status.READY, NOW)
        replaced = profile_images.make_current(uow, fake_ctx.storage, media, NOW)
        uow.media.save(media)
        uow.commit()
    return replaced


def test_a_new_ready_profile_image_replaces_the_previous_one_and_its_objects(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    first = stored(fake_db, memory_storage, make_media("alice", purpose=Purpose.PROFILE_IMAGE))
    second = stored(
        fake_db,
        memory_storage,
        make_media("alice", status=Status.PROCESSING, purpose=Purpose.PROFILE_IMAGE),
    )

    assert becomes_ready(fake_ctx, first.id) == []
    [replaced] = becomes_ready(fake_ctx, second.id)

    assert replaced.id == first.id
    assert fake_db.media[first.id].status is Status.DELETED
    assert not any(key.startswith(first.storage_key) for key in memory_storage.objects)
    assert fake_db.profile_images == {"alice": second.id}
    current = MediaQueries(fake_ctx).profile_image(ALICE, "")
    assert current is not None and current.id == second.id


def test_post_images_and_other_owners_profile_images_are_left_alone(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    post = stored(fake_db, memory_storage, make_media("alice"))
    bobs = stored(fake_db, memory_storage, make_media("bob", purpose=Purpose.PROFILE_IMAGE))
    new = stored(
        fake_db,
        memory_storage,
        make_media("alice", status=Status.PROCESSING, purpose=Purpose.PROFILE_IMAGE),
    )

    assert becomes_ready(fake_ctx, new.id) == []

    assert fake_db.media[post.id].status is Status.READY
    assert fake_db.media[bobs.id].status is Status.READY
    assert fake_db.profile_images == {"alice": new.id}


def test_deleting_the_current_profile_image_leaves_the_owner_without_one(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    media = stored(
        fake_db,
        memory_storage,
        make_media("alice", status=Status.PROCESSING, purpose=Purpose.PROFILE_IMAGE),
    )
    becomes_ready(fake_ctx, media.id)

    MediaDeletion(fake_ctx).delete(ALICE, media.id)

    assert MediaQueries(fake_ctx).profile_image(ALICE, "alice") is None


def test_an_owner_who_never_had_a_profile_image_has_none(fake_ctx: ServiceContext) -> None:
    assert MediaQueries(fake_ctx).profile_image(ALICE, "") is None
