"""Every refused upload over gRPC, PostgreSQL and the strict S3: the right status code, a FAILED
record with its reason (or no record at all), nothing left in storage, nothing queued."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import grpc
import pytest
import requests
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb

from media_grpc.bootstrap import Application
from tests.integration.uploading import (
    Auth,
    PartSender,
    Stub,
    assert_storage_empty,
    complete,
    create_session,
    error_reason,
    get_media,
    outbox_jobs,
    put_single,
    rpc_error,
)
from tests.samples import HTML, image_bytes, mp4_like

MiB = 1024 * 1024
PNG = image_bytes("PNG", (64, 64))
JPEG = image_bytes("JPEG", (64, 64))


def failed_for_good(app: Application, media: pb.Media, reason: int) -> pb.Media:
    """``media``, checked FAILED for ``reason`` with nothing left in storage and no job queued."""
    assert media.status == pb.STATUS_FAILED
    assert media.failure.reason == reason
    assert_storage_empty(app, media.storage_key)
    assert outbox_jobs(app, media.id) == 0
    return media


@pytest.mark.parametrize(
    ("declared", "content_type", "stored", "sha256", "reason"),
    [
        (HTML, "image/png", HTML, None, pb.FAILURE_REASON_UNSUPPORTED_FORMAT),
        (PNG, "image/jpeg", PNG, None, pb.FAILURE_REASON_TYPE_MISMATCH),
        (PNG, "image/png", PNG[:100], None, pb.FAILURE_REASON_SIZE_MISMATCH),
        (PNG, "image/png", None, None, pb.FAILURE_REASON_OBJECT_MISSING),
    ],
    ids=["png-declared-html-bytes", "jpeg-declared-png-bytes", "size", "missing"],
)
def test_refused_single_put_fails_the_media_and_leaves_storage_empty(
    stub: Stub,
    auth: Auth,
    unique_user: str,
    app: Application,
    declared: bytes,
    content_type: str,
    stored: bytes | None,
    sha256: str | None,
    reason: int,
) -> None:
    fields = {"sha256": sha256} if sha256 else {}
    session = create_session(stub, auth, unique_user, declared, content_type=content_type, **fields)
    if stored is not None and len(stored) != len(declared):
        # The strict S3 refuses a body of another length than signed: these bytes are what a
        # store that does not enforce it (or a writer with credentials) leaves at the key.
        key = get_media(stub, auth, unique_user, session.media_id).storage_key
        app.s3_client.put_object(
            Bucket=app.settings.s3_bucket, Key=key, Body=stored, ContentType=content_type
        )
    elif stored is not None:
        put_single(session, stored)

    error = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == pb.FailureReason.Name(reason).removeprefix("FAILURE_REASON_")
    media = failed_for_good(app, get_media(stub, auth, unique_user, session.media_id), reason)
    assert media.failure.message
    again = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("purpose", "content_type", "size", "field"),
    [
        (pb.PURPOSE_POST_IMAGE, "image/png", 50 * MiB + 1, "size_bytes"),
        (pb.PURPOSE_PROFILE_IMAGE, "image/jpeg", 20 * MiB + 1, "size_bytes"),
        (pb.PURPOSE_POST_VIDEO, "video/mp4", 5 * 1024 * MiB + 1, "size_bytes"),
        (pb.PURPOSE_POST_IMAGE, "text/html", 1000, "content_type"),
        (pb.PURPOSE_POST_IMAGE, "video/mp4", 1000, "content_type"),
    ],
    ids=["image-too-big", "profile-too-big", "video-too-big", "html", "video-as-image"],
)
def test_refused_session_creates_no_record_and_no_upload(
    stub: Stub,
    auth: Auth,
    unique_user: str,
    app: Application,
    purpose: int,
    content_type: str,
    size: int,
    field: str,
) -> None:
    request = pb.CreateUploadSessionRequest(
        purpose=purpose, file_name="x", content_type=content_type, size_bytes=size
    )
    error = rpc_error(lambda: stub.CreateUploadSession(request, metadata=auth(unique_user)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == field
    listed = stub.ListMedia(pb.ListMediaRequest(), metadata=auth(unique_user))
    assert list(listed.media) == []
    for folder in ("posts", "profiles"):
        assert_storage_empty(app, f"{folder}/{unique_user}/")


def test_a_text_html_put_with_jpeg_magic_is_refused_as_type_mismatch(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    hostile = JPEG[:64] + b"<script>alert(document.cookie)</script>"
    session = create_session(stub, auth, unique_user, hostile, content_type="image/jpeg")
    headers = {**dict(session.single_put.headers), "Content-Type": "text/html"}
    refused = requests.put(session.single_put.url, data=hostile, headers=headers, timeout=10)
    assert refused.status_code == 403  # the strict S3 holds the signed Content-Type
    # What a store that does not (or a writer with credentials) leaves at the key:
    key = get_media(stub, auth, unique_user, session.media_id).storage_key
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket, Key=key, Body=hostile, ContentType="text/html"
    )

    error = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "TYPE_MISMATCH"
    assert "text/html" in error.details()
    failed_for_good(
        app, get_media(stub, auth, unique_user, session.media_id), pb.FAILURE_REASON_TYPE_MISMATCH
    )


def test_a_completion_after_the_session_expired_is_refused_and_empties_storage(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    session = create_session(stub, auth, unique_user, PNG)
    put_single(session, PNG)
    with app.ctx.uow() as uow:  # the session's URLs expired a second ago
        media = uow.media.get(session.media_id, for_update=True)
        assert media is not None
        media.expires_at = app.ctx.now() - timedelta(seconds=1)
        uow.media.save(media)
        uow.commit()

    error = rpc_error(lambda: complete(stub, auth, unique_user, session.media_id))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "EXPIRED"
    failed_for_good(
        app, get_media(stub, auth, unique_user, session.media_id), pb.FAILURE_REASON_EXPIRED
    )


def test_a_multipart_upload_with_a_declared_sha256_completes_without_reading_it_all(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = mp4_like(11 * MiB)
    session = create_session(
        stub,
        auth,
        unique_user,
        data,
        purpose=pb.PURPOSE_POST_VIDEO,
        content_type="video/mp4",
        sha256=hashlib.sha256(data[:-1] + b"!").hexdigest(),
    )
    etags = PartSender(data, session.multipart.part_size).send(session.multipart.part_urls)
    media = complete(stub, auth, unique_user, session.media_id, etags)
    assert media.status == pb.STATUS_UPLOADED  # the job checks the sha256 while it reads
    assert outbox_jobs(app, session.media_id) == 1


def test_someone_elses_media_is_permission_denied_and_left_intact(
    stub: Stub, auth: Auth, unique_user: str, app: Application
) -> None:
    data = mp4_like(11 * MiB)
    session = create_session(
        stub, auth, unique_user, data, purpose=pb.PURPOSE_POST_VIDEO, content_type="video/mp4"
    )
    etags = PartSender(data, session.multipart.part_size).send(session.multipart.part_urls)
    intruder = auth(unique_user + "-intruder")
    media_id = session.media_id
    calls = {
        "CompleteUpload": lambda: stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=media_id), metadata=intruder
        ),
        "AbortUpload": lambda: stub.AbortUpload(
            pb.AbortUploadRequest(media_id=media_id), metadata=intruder
        ),
        "GetUploadPartUrls": lambda: stub.GetUploadPartUrls(
            pb.GetUploadPartUrlsRequest(media_id=media_id, part_numbers=[1]), metadata=intruder
        ),
        "ListUploadedParts": lambda: stub.ListUploadedParts(
            pb.ListUploadedPartsRequest(media_id=media_id), metadata=intruder
        ),
    }
    for name, call in calls.items():
        assert rpc_error(call).code() == grpc.StatusCode.PERMISSION_DENIED, name

    assert get_media(stub, auth, unique_user, media_id).status == pb.STATUS_PENDING
    assert complete(stub, auth, unique_user, media_id, etags).status == pb.STATUS_UPLOADED
    assert outbox_jobs(app, media_id) == 1


def test_unknown_media_is_not_found_for_every_upload_rpc(
    stub: Stub, auth: Auth, unique_user: str
) -> None:
    error = rpc_error(lambda: complete(stub, auth, unique_user, "no-such-media"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = rpc_error(
        lambda: stub.AbortUpload(
            pb.AbortUploadRequest(media_id="no-such-media"), metadata=auth(unique_user)
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
