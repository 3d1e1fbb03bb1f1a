"""Multipart uploads over gRPC, PostgreSQL and the strict S3: parallel parts, resume,
refusals that keep the session open, abort."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest
from media.v1 import media_pb2 as pb

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from tests.integration.uploading import (
    Auth,
    PartSender,
    Stub,
    another_server,
    assert_storage_empty,
    complete,
    create_session,
    get_media,
    outbox_jobs,
    rpc_error,
    uploads_in_progress,
)
from tests.samples import mp4_like

MiB = 1024 * 1024
FORTY_MIB = mp4_like(40 * MiB)
FORTY_MIB_SHA256 = hashlib.sha256(FORTY_MIB).hexdigest()


def start_video(
    stub: Stub, auth: Auth, user: str, data: bytes, **fields: object
) -> pb.CreateUploadSessionResponse:
    return create_session(
        stub, auth, user, data, purpose=pb.PURPOSE_POST_VIDEO, content_type="video/mp4", **fields
    )


def test_forty_mebibyte_video_uploaded_in_parallel_parts_is_completed_and_queued(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    session = start_video(stub, auth, unique_user, FORTY_MIB, sha256=FORTY_MIB_SHA256)
    assert session.WhichOneof("upload") == "multipart"
    plan = session.multipart
    assert (plan.part_size, plan.part_count) == (8 * MiB, 5)
    assert [u.part_number for u in plan.part_urls] == [1, 2, 3, 4, 5]
    for url in plan.part_urls:
        assert "X-Amz-Expires=900" in url.url
        signed = url.url.split("X-Amz-SignedHeaders=")[1].split("&")[0]
        assert "content-length" in signed

    sender = PartSender(FORTY_MIB, plan.part_size)
    etags = sender.send(plan.part_urls, workers=5)
    media = complete(stub, auth, unique_user, session.media_id, etags)

    assert media.status == pb.STATUS_UPLOADED
    assert media.mime_type == "video/mp4"
    assert media.sha256 == FORTY_MIB_SHA256
    info = app.storage.head(media.storage_key)
    assert info.size == 40 * MiB
    assert info.etag.endswith('-5"')
    assert uploads_in_progress(app, media.storage_key) == []
    assert outbox_jobs(app, session.media_id) == 1


@pytest.fixture(scope="module")
def two_urls_stub(settings: Settings, app: Application) -> Iterator[Stub]:
    """A second server on the same database and bucket that presigns only 2 parts up front."""
    with another_server(settings, initial_part_urls=2) as stub:
        yield stub


def test_resumed_upload_sends_only_the_missing_parts(
    two_urls_stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    stub = two_urls_stub
    session = start_video(stub, auth, unique_user, FORTY_MIB, sha256=FORTY_MIB_SHA256)
    assert [u.part_number for u in session.multipart.part_urls] == [1, 2]
    sender = PartSender(FORTY_MIB, session.multipart.part_size)
    sender.send(session.multipart.part_urls)
    more = stub.GetUploadPartUrls(
        pb.GetUploadPartUrlsRequest(media_id=session.media_id, part_numbers=[3]),
        metadata=auth(unique_user),
    )
    sender.send(more.part_urls)
    # The client crashes here and forgets everything but the media id.

    listed = stub.ListUploadedParts(
        pb.ListUploadedPartsRequest(media_id=session.media_id), metadata=auth(unique_user)
    )
    held = {p.part_number: p.etag for p in listed.parts}
    assert sorted(held) == [1, 2, 3]
    assert all(p.size_bytes == listed.part_size for p in listed.parts)
    missing = [n for n in range(1, listed.part_count + 1) if n not in held]
    fresh = stub.GetUploadPartUrls(
        pb.GetUploadPartUrlsRequest(media_id=session.media_id, part_numbers=missing),
        metadata=auth(unique_user),
    )
    assert all(u.expires_at.ToDatetime(UTC) > datetime.now(UTC) for u in fresh.part_urls)
    held |= sender.send(fresh.part_urls)
    media = complete(stub, auth, unique_user, session.media_id, held)

    assert media.status == pb.STATUS_UPLOADED
    assert sender.puts == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    assert app.storage.head(media.storage_key).size == len(FORTY_MIB)


def test_missing_part_is_refused_without_failing_and_abort_then_empties_storage(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = mp4_like(11 * MiB)
    session = start_video(stub, auth, unique_user, data)
    sender = PartSender(data, session.multipart.part_size)
    etags = sender.send(session.multipart.part_urls[:1])

    error = rpc_error(
        lambda: complete(stub, auth, unique_user, session.media_id, etags | {2: '"nope"'})
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no part 2" in str(error.details())
    media = get_media(stub, auth, unique_user, session.media_id)
    assert media.status == pb.STATUS_PENDING
    assert uploads_in_progress(app, media.storage_key) == [media.storage_key]

    aborted = stub.AbortUpload(
        pb.AbortUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    again = stub.AbortUpload(
        pb.AbortUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    assert aborted.status == again.status == pb.STATUS_FAILED
    assert aborted.failure.reason == pb.FAILURE_REASON_ABORTED
    assert_storage_empty(app, media.storage_key)
    after = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id, etags))
    assert after.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert outbox_jobs(app, session.media_id) == 0


def test_wrong_etag_is_refused_and_the_right_one_then_completes(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = mp4_like(11 * MiB)
    session = start_video(stub, auth, unique_user, data)
    etags = PartSender(data, session.multipart.part_size).send(session.multipart.part_urls)
    wrong = etags | {1: '"00000000000000000000000000000000"'}
    error = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id, wrong))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ETag given for part 1" in str(error.details())
    media = complete(stub, auth, unique_user, session.media_id, etags)
    assert media.status == pb.STATUS_UPLOADED
    assert outbox_jobs(app, session.media_id) == 1
