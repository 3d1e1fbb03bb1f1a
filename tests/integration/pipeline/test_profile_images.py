"""One profile image per owner through the real pipeline, PostgreSQL and a real channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import text

from media_grpc.bootstrap import Application
from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import Media, Purpose, Status
from tests.integration.pipeline.conftest import (
    media_of,
    png_bytes,
    running_pipeline,
    upload,
    wait_for,
)
from tests.waiting import eventually

Auth = Callable[..., list[tuple[str, str]]]


def profile_upload(app: Application, owner: str, *, complete: bool = True) -> str:
    return upload(app, owner, png_bytes(320, 240), purpose=Purpose.PROFILE_IMAGE, complete=complete)


def assert_erased(app: Application, media: Media) -> None:
    assert media.status is Status.DELETED
    assert app.storage.list_keys(media.storage_key) == []
    assert app.storage.list_keys(output_prefix(media.storage_key, video=False)) == []


def current(stub: media_pb2_grpc.MediaServiceStub, auth: Auth, owner: str) -> pb.Media | None:
    answer = stub.GetProfileImage(pb.GetProfileImageRequest(), metadata=auth(owner))
    return answer.media if answer.HasField("media") else None


def test_two_profile_images_in_a_row_leave_the_second_current_and_the_first_deleted(
    pipeline_app: Application,
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
) -> None:
    with running_pipeline(pipeline_app):
        first = profile_upload(pipeline_app, unique_user)
        wait_for(pipeline_app, first, {Status.READY})
        second = profile_upload(pipeline_app, unique_user)
        wait_for(pipeline_app, second, {Status.READY})

    now = current(stub, auth, unique_user)
    assert now is not None and now.id == second
    assert now.status == pb.STATUS_READY
    assert_erased(pipeline_app, media_of(pipeline_app, first))
    service_view = stub.GetProfileImage(
        pb.GetProfileImageRequest(owner_id=unique_user), metadata=auth("svc", role="service")
    )
    assert service_view.media.id == second


def waiting_for_a_lock(app: Application) -> int:
    """Transactions of this database now blocked on a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with app.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_two_profile_images_at_once_leave_exactly_one_current(
    make_app: Callable[..., Application],
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
) -> None:
    app = make_app(worker_threads=2, prefetch=2)
    ids = [profile_upload(app, unique_user) for _ in range(2)]
    with running_pipeline(app):
        # Hold the owner's lock until both jobs wait for it to record READY, then let them race.
        with app.ctx.uow() as uow:
            uow.profile_images.hold(unique_user, datetime.now(UTC))
            eventually(lambda: waiting_for_a_lock(app) >= 2, "the two jobs at the owner's lock", 60)
            uow.rollback()
        for media_id in ids:
            wait_for(app, media_id, {Status.READY, Status.DELETED})

    statuses = sorted(media_of(app, i).status for i in ids)
    assert statuses == sorted([Status.READY, Status.DELETED])
    [kept] = [i for i in ids if media_of(app, i).status is Status.READY]
    [gone] = [i for i in ids if i != kept]
    now = current(stub, auth, unique_user)
    assert now is not None and now.id == kept
    assert_erased(app, media_of(app, gone))


def test_deleting_the_current_profile_image_leaves_none(
    pipeline_app: Application,
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
) -> None:
    with running_pipeline(pipeline_app):
        media_id = profile_upload(pipeline_app, unique_user)
        wait_for(pipeline_app, media_id, {Status.READY})

    stub.DeleteMedia(pb.DeleteMediaRequest(media_id=media_id), metadata=auth(unique_user))

    assert current(stub, auth, unique_user) is None
    assert_erased(pipeline_app, media_of(pipeline_app, media_id))
