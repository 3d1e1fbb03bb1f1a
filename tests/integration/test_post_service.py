"""The post service's calls over a real channel, PostgreSQL and the strict S3."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application
from media_grpc.domain import keys
from media_grpc.domain.model import Purpose, Status
from tests.integration.records import load, stored_media

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def post_id() -> str:
    return f"post-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def service_md(auth: Auth) -> list[tuple[str, str]]:
    return auth("post-service", role="service")


def test_validate_media_gives_a_verdict_per_media_in_order(
    stub: Stub, app: Application, unique_user: str, service_md: list[tuple[str, str]]
) -> None:
    ready = stored_media(app, unique_user)
    processing = stored_media(app, unique_user, status=Status.PROCESSING)
    profile = stored_media(app, unique_user, purpose=Purpose.PROFILE_IMAGE)
    ids = [ready.id, processing.id, profile.id, str(uuid.uuid4())]
    answer = stub.ValidateMedia(
        pb.ValidateMediaRequest(owner_id=unique_user, media_ids=ids, post_id=post_id()),
        metadata=service_md,
    )
    assert [v.media_id for v in answer.verdicts] == ids
    assert [v.reason for v in answer.verdicts] == [
        pb.VALIDATION_REASON_OK,
        pb.VALIDATION_REASON_NOT_READY,
        pb.VALIDATION_REASON_WRONG_PURPOSE,
        pb.VALIDATION_REASON_NOT_FOUND,
    ]
    assert not answer.all_ok


def test_attach_keeps_order_and_reattaching_is_idempotent(
    stub: Stub, app: Application, unique_user: str, service_md: list[tuple[str, str]]
) -> None:
    ids = [stored_media(app, unique_user).id for _ in range(3)][::-1]
    post = post_id()
    request = pb.AttachMediaRequest(post_id=post, owner_id=unique_user, media_ids=ids)
    first = stub.AttachMedia(request, metadata=service_md)
    again = stub.AttachMedia(request, metadata=service_md)
    for answer in (first, again):
        assert [(m.id, m.post_id, m.post_position) for m in answer.media] == [
            (media_id, post, n) for n, media_id in enumerate(ids)
        ]


def test_twenty_posts_racing_for_one_media_leave_exactly_one_winner(
    stub: Stub, app: Application, unique_user: str, service_md: list[tuple[str, str]]
) -> None:
    media = stored_media(app, unique_user)
    posts = [post_id() for _ in range(20)]

    def attach(post: str) -> grpc.StatusCode:
        try:
            stub.AttachMedia(
                pb.AttachMediaRequest(post_id=post, owner_id=unique_user, media_ids=[media.id]),
                metadata=service_md,
                timeout=30,
            )
        except grpc.RpcError as e:
            assert media.id in e.details()
            return e.code()
        return grpc.StatusCode.OK

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(attach, posts))
    assert codes.count(grpc.StatusCode.OK) == 1
    assert codes.count(grpc.StatusCode.FAILED_PRECONDITION) == 19
    assert load(app, media.id).post_id == posts[codes.index(grpc.StatusCode.OK)]


def test_refused_attach_names_the_media_with_a_precondition_failure_detail(
    stub: Stub, app: Application, unique_user: str, service_md: list[tuple[str, str]]
) -> None:
    ready = stored_media(app, unique_user)
    taken = stored_media(app, unique_user, post_id="another-post")
    with pytest.raises(grpc.RpcError) as raised:
        stub.AttachMedia(
            pb.AttachMediaRequest(
                post_id=post_id(), owner_id=unique_user, media_ids=[ready.id, taken.id]
            ),
            metadata=service_md,
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert taken.id in raised.value.details()
    status = rpc_status.from_call(raised.value)  # type: ignore[arg-type]
    assert status is not None
    failure = error_details_pb2.PreconditionFailure()
    assert status.details[0].Unpack(failure)
    assert [(v.type, v.subject) for v in failure.violations] == [
        ("ALREADY_ATTACHED", f"media/{taken.id}")
    ]
    assert load(app, ready.id).post_id is None


def put_objects(app: Application, keys_: list[str]) -> None:
    for key in keys_:
        app.s3_client.put_object(Bucket=app.settings.s3_bucket, Key=key, Body=b"x")


def test_delete_removes_every_object_of_the_media_from_the_bucket(
    stub: Stub, app: Application, unique_user: str, auth: Auth
) -> None:
    media = stored_media(app, unique_user, purpose=Purpose.POST_VIDEO)
    prefix = keys.output_prefix(media.storage_key, video=True)
    named = [media.storage_key, *(v.storage_key for v in media.variants)]
    hls = [f"{prefix}{r}/seg-{n:04d}.ts" for r in ("360p", "720p") for n in range(3)]
    put_objects(app, named + hls + [f"{prefix}720p/index.m3u8", f"{prefix}master.m3u8"])
    neighbour = stored_media(app, unique_user)
    put_objects(app, [neighbour.storage_key])
    assert len(app.storage.list_keys(prefix)) == 10

    deleted = stub.DeleteMedia(pb.DeleteMediaRequest(media_id=media.id), metadata=auth(unique_user))
    again = stub.DeleteMedia(pb.DeleteMediaRequest(media_id=media.id), metadata=auth(unique_user))

    assert deleted.media.status == again.media.status == pb.STATUS_DELETED
    assert app.storage.list_keys(media.storage_key) == []
    assert app.storage.list_keys(prefix) == []
    assert app.storage.list_keys(neighbour.storage_key) == [neighbour.storage_key]
    assert load(app, media.id).status is Status.DELETED


def test_detach_deletes_the_media_of_a_deleted_post(
    stub: Stub, app: Application, unique_user: str, service_md: list[tuple[str, str]]
) -> None:
    media = [stored_media(app, unique_user) for _ in range(2)]
    put_objects(app, [m.storage_key for m in media])
    post = post_id()
    stub.AttachMedia(
        pb.AttachMediaRequest(post_id=post, owner_id=unique_user, media_ids=[m.id for m in media]),
        metadata=service_md,
    )
    answer = stub.DetachMedia(pb.DetachMediaRequest(post_id=post), metadata=service_md)
    assert sorted(answer.media_ids) == sorted(m.id for m in media)
    for m in media:
        assert load(app, m.id).status is Status.DELETED
        assert app.storage.list_keys(m.storage_key) == []
