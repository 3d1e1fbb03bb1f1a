"""Dedupe over a real channel, PostgreSQL, RabbitMQ, the worker and the strict S3: the same
file twice is one transfer and one job; shared objects outlive either media but not both;
another owner and a hash the job found false never match; a hit racing the deletion of its
source waits for it and misses."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import text

from media_grpc.bootstrap import Application
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain.keys import frozen_original_key, output_prefix
from media_grpc.domain.model import Purpose
from media_grpc.domain.principal import Principal
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.deletion import erase
from media_grpc.service.uploads import UploadRequest
from tests.integration.pipeline.conftest import png_bytes, running_relay, running_worker
from tests.integration.uploading import create_session, outbox_jobs, put_single
from tests.media_records import make_media
from tests.waiting import eventually

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def settled(stub: Stub, auth: Auth, user: str, media_id: str) -> pb.Media:
    """The media once processing ended (READY or FAILED)."""
    for answer in stub.WatchMedia(
        pb.WatchMediaRequest(media_id=media_id), metadata=auth(user), timeout=60
    ):
        if answer.media.status in (pb.STATUS_READY, pb.STATUS_FAILED):
            return answer.media
    raise AssertionError(f"the watch of {media_id} ended before processing did")


def uploaded(stub: Stub, auth: Auth, user: str, data: bytes, **declared: object) -> pb.Media:
    """Create (declaring ``data``'s sha256, unless ``declared`` declares one to CompleteUpload),
    PUT, complete, wait: the settled media."""
    at_create = {} if declared else {"sha256": hashlib.sha256(data).hexdigest()}
    session = create_session(stub, auth, user, data, **at_create)
    assert not session.deduplicated
    put_single(session, data)
    stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=session.media_id, **declared),  # type: ignore[arg-type]
        metadata=auth(user),
    )
    return settled(stub, auth, user, session.media_id)


def shared_keys(app: Application, media: pb.Media) -> list[str]:
    """Every object of ``media`` in storage: its frozen original and its outputs."""
    prefix = output_prefix(media.storage_key, video=False)
    return sorted([frozen_original_key(media.storage_key), *app.storage.list_keys(prefix)])


def ready(app: Application, stub: Stub, auth: Auth, user: str, data: bytes) -> pb.Media:
    """``data`` uploaded and processed by a worker of the test's own: the READY media."""
    with running_worker(app), running_relay(app):
        media = uploaded(stub, auth, user, data)
    assert media.status == pb.STATUS_READY
    return media


def test_the_same_file_twice_is_one_transfer_and_one_job(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(80, 60)
    first = ready(pipeline_app, stub, auth, unique_user, data)

    again = create_session(stub, auth, unique_user, data, sha256=hashlib.sha256(data).hexdigest())

    assert again.deduplicated
    assert again.WhichOneof("upload") is None
    assert again.media.id == again.media_id != first.id
    assert again.media.status == pb.STATUS_READY
    assert [v.url for v in again.media.variants] == [v.url for v in first.variants]
    assert (outbox_jobs(pipeline_app, first.id), outbox_jobs(pipeline_app, again.media_id)) == (
        1,
        0,
    )
    fetched = stub.GetMedia(pb.GetMediaRequest(media_id=again.media_id), metadata=auth(unique_user))
    assert fetched.media.status == pb.STATUS_READY
    assert fetched.media.original_url


def test_deleting_or_purging_either_media_keeps_the_others_objects_and_the_last_removes_them(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(90, 70)
    first = ready(pipeline_app, stub, auth, unique_user, data)
    keys = shared_keys(pipeline_app, first)
    assert len(keys) > 1
    sha256 = hashlib.sha256(data).hexdigest()
    second = create_session(stub, auth, unique_user, data, sha256=sha256).media
    third = create_session(stub, auth, unique_user, data, sha256=sha256).media
    assert second.id and third.id

    def still_stored() -> list[str]:
        return [k for k in keys if pipeline_app.storage.list_keys(k)]

    stub.DeleteMedia(pb.DeleteMediaRequest(media_id=first.id), metadata=auth(unique_user))
    assert still_stored() == keys
    stub.DeleteMedia(pb.DeleteMediaRequest(media_id=third.id), metadata=auth(unique_user))
    assert still_stored() == keys
    purged = CleanupService(pipeline_app.ctx, LifecycleSettings(deleted_retention_hours=0)).run()
    assert purged.records_purged == 2
    assert still_stored() == keys
    kept = stub.GetMedia(pb.GetMediaRequest(media_id=second.id), metadata=auth(unique_user))
    assert kept.media.status == pb.STATUS_READY
    stub.DeleteMedia(pb.DeleteMediaRequest(media_id=second.id), metadata=auth(unique_user))
    assert still_stored() == []


def test_a_second_owner_with_the_same_file_uploads_it_normally(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(70, 50)
    with running_worker(pipeline_app), running_relay(pipeline_app):
        first = uploaded(stub, auth, unique_user, data)
        theirs = uploaded(stub, auth, unique_user + "-other", data)
    assert (first.status, theirs.status) == (pb.STATUS_READY, pb.STATUS_READY)
    assert theirs.storage_key != first.storage_key
    assert outbox_jobs(pipeline_app, theirs.id) == 1


def test_a_declared_hash_the_job_finds_false_never_becomes_a_match(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data, other = png_bytes(60, 40), png_bytes(61, 40)
    false_hash = hashlib.sha256(other).hexdigest()
    with running_worker(pipeline_app), running_relay(pipeline_app):
        lied = uploaded(stub, auth, unique_user, data, sha256=false_hash)
    assert lied.status == pb.STATUS_FAILED
    assert lied.failure.reason == pb.FAILURE_REASON_CHECKSUM_MISMATCH

    for sha256 in (false_hash, hashlib.sha256(data).hexdigest()):
        session = create_session(stub, auth, unique_user, data, sha256=sha256)
        assert not session.deduplicated
        assert session.single_put.url


def test_a_hit_waits_for_a_deletion_of_its_source_and_then_uploads_normally(
    pipeline_app: Application, unique_user: str
) -> None:
    data = png_bytes(50, 40)
    sha256 = hashlib.sha256(data).hexdigest()
    source = replace(make_media(unique_user), size_bytes=len(data), verified_sha256=sha256)
    with pipeline_app.ctx.uow() as uow:
        uow.media.add(source)
        uow.commit()
    request = UploadRequest(
        purpose=Purpose.POST_IMAGE,
        file_name="race.png",
        content_type="image/png",
        size_bytes=len(data),
        sha256=sha256,
    )

    with ThreadPoolExecutor(1) as pool, pipeline_app.ctx.uow() as deleting:
        locked = deleting.media.get(source.id, for_update=True)
        assert locked is not None
        erase(deleting, pipeline_app.storage, locked, pipeline_app.ctx.now())
        deleting.media.save(locked)
        create = pool.submit(pipeline_app.uploads.create_session, Principal(unique_user), request)
        eventually(lambda: waiting_on_a_lock(pipeline_app), "the create to wait for the row")
        deleting.commit()
        session = create.result(timeout=30)

    assert not session.deduplicated
    assert session.single_put is not None


def waiting_on_a_lock(app: Application) -> bool:
    with app.engine.connect() as conn:
        waiting = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)
