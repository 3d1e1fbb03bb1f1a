"""The post service's calls through the service layer, with fakes."""

from __future__ import annotations

import pytest

from media_grpc.domain.attachment import Attachability
from media_grpc.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.posts import PostMedia
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media

ALICE = Principal("alice")
POST_SERVICE = Principal("post-service", is_service=True)


@pytest.fixture
def posts(fake_ctx: ServiceContext) -> PostMedia:
    return PostMedia(fake_ctx)


def stored(fake_db: FakeDatabase, *media: Media) -> list[str]:
    for m in media:
        fake_db.media[m.id] = m
    return [m.id for m in media]


def test_validate_media_gives_each_reason_in_the_order_asked(
    posts: PostMedia, fake_db: FakeDatabase
) -> None:
    ok, bobs, pending, failed, profile, elsewhere, deleted = stored(
        fake_db,
        make_media("alice"),
        make_media("bob"),
        make_media("alice", status=Status.PROCESSING),
        make_media("alice", status=Status.FAILED),
        make_media("alice", purpose=Purpose.PROFILE_IMAGE),
        make_media("alice", post_id="post-2"),
        make_media("alice", status=Status.DELETED),
    )
    ids = [ok, bobs, pending, failed, profile, elsewhere, deleted, "missing"]
    verdicts = posts.validate_media(POST_SERVICE, "alice", ids, "post-1")
    assert [v.media_id for v in verdicts] == ids
    assert [v.reason for v in verdicts] == [
        Attachability.OK,
        Attachability.NOT_OWNER,
        Attachability.NOT_READY,
        Attachability.FAILED,
        Attachability.WRONG_PURPOSE,
        Attachability.ALREADY_ATTACHED,
        Attachability.NOT_FOUND,
        Attachability.NOT_FOUND,
    ]
    assert all(v.media_id in v.message for v in verdicts)


def test_media_attached_to_the_same_post_validate_as_ok(
    posts: PostMedia, fake_db: FakeDatabase
) -> None:
    (media_id,) = stored(fake_db, make_media("alice", post_id="post-1"))
    (verdict,) = posts.validate_media(POST_SERVICE, "alice", [media_id], "post-1")
    assert verdict.ok


def test_users_may_not_validate_attach_or_detach(posts: PostMedia, fake_db: FakeDatabase) -> None:
    (media_id,) = stored(fake_db, make_media("alice"))
    with pytest.raises(PermissionDenied):
        posts.validate_media(ALICE, "alice", [media_id], "post-1")
    with pytest.raises(PermissionDenied):
        posts.attach(ALICE, "post-1", "alice", [media_id])
    with pytest.raises(PermissionDenied):
        posts.detach(ALICE, "post-1")


def test_validate_ownership_answers_owned_not_owner_and_not_found(
    posts: PostMedia, fake_db: FakeDatabase
) -> None:
    (media_id,) = stored(fake_db, make_media("alice"))
    assert posts.validate_ownership(POST_SERVICE, "alice", media_id).ok
    assert posts.validate_ownership(ALICE, "", media_id).ok
    assert posts.validate_ownership(POST_SERVICE, "bob", media_id).reason is Attachability.NOT_OWNER
    assert posts.validate_ownership(ALICE, "", "nope").reason is Attachability.NOT_FOUND


def test_a_user_may_not_ask_about_another_owner(posts: PostMedia) -> None:
    with pytest.raises(PermissionDenied):
        posts.validate_ownership(ALICE, "bob", "any")


def test_a_service_must_name_the_owner(posts: PostMedia) -> None:
    with pytest.raises(InvalidArgument, match="owner_id"):
        posts.validate_ownership(POST_SERVICE, "", "any")


def test_attach_keeps_the_order_given(posts: PostMedia, fake_db: FakeDatabase) -> None:
    ids = stored(fake_db, *(make_media("alice") for _ in range(4)))
    order = [ids[2], ids[0], ids[3], ids[1]]
    attached = posts.attach(POST_SERVICE, "post-1", "alice", order)
    assert [m.id for m in attached] == order
    assert [(fake_db.media[i].post_id, fake_db.media[i].post_position) for i in order] == [
        ("post-1", 0),
        ("post-1", 1),
        ("post-1", 2),
        ("post-1", 3),
    ]


def test_attach_is_all_or_nothing_and_names_the_refused_media(
    posts: PostMedia, fake_db: FakeDatabase
) -> None:
    good, pending = stored(
        fake_db, make_media("alice"), make_media("alice", status=Status.UPLOADED)
    )
    with pytest.raises(FailedPrecondition) as raised:
        posts.attach(POST_SERVICE, "post-1", "alice", [good, pending])
    assert pending in raised.value.message
    assert good not in raised.value.message.split(":", 1)[0]
    assert raised.value.violations == [
        (
            "NOT_READY",
            f"media/{pending}",
            f"media {pending} is UPLOADED; only READY media can be attached",
        )
    ]
    assert fake_db.media[good].post_id is None


def test_profile_images_cannot_be_attached(posts: PostMedia, fake_db: FakeDatabase) -> None:
    (profile,) = stored(fake_db, make_media("alice", purpose=Purpose.PROFILE_IMAGE))
    with pytest.raises(FailedPrecondition, match="PROFILE_IMAGE"):
        posts.attach(POST_SERVICE, "post-1", "alice", [profile])


def test_media_attached_to_another_post_is_refused(posts: PostMedia, fake_db: FakeDatabase) -> None:
    (media_id,) = stored(fake_db, make_media("alice"))
    posts.attach(POST_SERVICE, "post-1", "alice", [media_id])
    with pytest.raises(FailedPrecondition, match=f"{media_id} is already attached to post post-1"):
        posts.attach(POST_SERVICE, "post-2", "alice", [media_id])


def test_reattaching_the_same_list_is_idempotent(posts: PostMedia, fake_db: FakeDatabase) -> None:
    ids = stored(fake_db, make_media("alice"), make_media("alice"))
    posts.attach(POST_SERVICE, "post-1", "alice", ids)
    commits = fake_db.commits
    again = posts.attach(POST_SERVICE, "post-1", "alice", ids)
    assert [m.id for m in again] == ids
    assert fake_db.commits == commits


def test_attaching_a_new_list_reorders_and_detaches_media_left_out(
    posts: PostMedia, fake_db: FakeDatabase
) -> None:
    a, b, c = stored(fake_db, *(make_media("alice") for _ in range(3)))
    posts.attach(POST_SERVICE, "post-1", "alice", [a, b])
    posts.attach(POST_SERVICE, "post-1", "alice", [c, a])
    assert (fake_db.media[c].post_id, fake_db.media[c].post_position) == ("post-1", 0)
    assert (fake_db.media[a].post_id, fake_db.media[a].post_position) == ("post-1", 1)
    assert fake_db.media[b].post_id is None
    assert fake_db.media[b].status is Status.READY


def test_attach_rejects_duplicate_and_empty_lists(posts: PostMedia, fake_db: FakeDatabase) -> None:
    (media_id,) = stored(fake_db, make_media("alice"))
    with pytest.raises(InvalidArgument, match="more than once"):
        posts.attach(POST_SERVICE, "post-1", "alice", [media_id, media_id])
    with pytest.raises(InvalidArgument):
        posts.attach(POST_SERVICE, "post-1", "alice", [])
    with pytest.raises(InvalidArgument):
        posts.attach(POST_SERVICE, "", "alice", [media_id])


def test_detach_deletes_the_posts_media_and_their_objects(
    posts: PostMedia, fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage
) -> None:
    kept, *ids = stored(fake_db, *(make_media("alice") for _ in range(3)))
    posts.attach(POST_SERVICE, "post-1", "alice", ids)
    for media_id in (kept, *ids):
        media = fake_db.media[media_id]
        for key in [media.storage_key, *(v.storage_key for v in media.variants)]:
            memory_storage.put(key, b"x")
    detached = posts.detach(POST_SERVICE, "post-1")
    assert sorted(detached) == sorted(ids)
    for media_id in ids:
        assert fake_db.media[media_id].status is Status.DELETED
        assert fake_db.media[media_id].post_id is None
        assert memory_storage.list_keys(fake_db.media[media_id].storage_key) == []
    assert fake_db.media[kept].status is Status.READY
    assert memory_storage.list_keys(fake_db.media[kept].storage_key) != []
    assert posts.detach(POST_SERVICE, "post-1") == []
