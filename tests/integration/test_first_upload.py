"""The first real path over gRPC, PostgreSQL and the strict S3: session, PUT, complete."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
import requests
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200

Auth = Callable[..., list[tuple[str, str]]]


def create_session(
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    user: str,
    data: bytes = PNG_BYTES,
    **fields: object,
) -> pb.CreateUploadSessionResponse:
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_IMAGE,
        file_name="holiday.png",
        content_type="image/png",
        size_bytes=len(data),
    )
    for name, value in fields.items():
        setattr(request, name, value)
    response: pb.CreateUploadSessionResponse = stub.CreateUploadSession(
        request, metadata=auth(user)
    )
    return response


def put(session: pb.CreateUploadSessionResponse, data: bytes) -> requests.Response:
    return requests.put(
        session.single_put.url, data=data, headers=dict(session.single_put.headers), timeout=10
    )


def test_file_uploaded_through_presigned_url_reads_back_as_uploaded(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str, app: Application
) -> None:
    session = create_session(stub, auth, unique_user)
    assert session.WhichOneof("upload") == "single_put"
    assert session.single_put.headers["Content-Type"] == "image/png"
    assert put(session, PNG_BYTES).status_code == 200

    completed = stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
    )
    got = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media

    assert completed.media.status == pb.STATUS_UPLOADED
    assert got.status == pb.STATUS_UPLOADED
    assert got.owner_id == unique_user
    assert got.size_bytes == len(PNG_BYTES)
    assert got.storage_key.startswith(f"uploads/posts/{unique_user}/")
    assert got.storage_key.endswith(f"-{session.media_id}.png")
    assert app.storage.read_range(got.storage_key, 0, 10_000) == PNG_BYTES


def test_presigned_put_signs_content_type_and_length(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    session = create_session(stub, auth, unique_user)
    signed = session.single_put.url.split("X-Amz-SignedHeaders=")[1].split("&")[0]
    assert "content-length" in signed
    assert "content-type" in signed
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in session.single_put.url


def test_complete_upload_with_wrong_size_fails_and_removes_the_object(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str, app: Application
) -> None:
    session = create_session(stub, auth, unique_user)
    # The strict S3 refuses a body of another length than signed: these are the bytes a store
    # that does not enforce it (or a writer with credentials) leaves at the key.
    pending = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket,
        Key=pending.storage_key,
        Body=PNG_BYTES[:50],
        ContentType="image/png",
    )
    with pytest.raises(grpc.RpcError) as raised:
        stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"declared {len(PNG_BYTES)} bytes, storage holds 50" in str(raised.value.details())
    media = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    assert media.status == pb.STATUS_FAILED
    assert media.failure.reason == pb.FAILURE_REASON_SIZE_MISMATCH
    assert app.storage.list_keys(media.storage_key) == []


def test_complete_upload_without_object_fails_with_object_missing(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    session = create_session(stub, auth, unique_user)
    with pytest.raises(grpc.RpcError) as raised:
        stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    media = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    assert media.failure.reason == pb.FAILURE_REASON_OBJECT_MISSING


def test_session_over_the_size_limit_names_field_limit_and_value(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        create_session(stub, auth, unique_user, size_bytes=60 * 1024 * 1024)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    violation = bad_request.field_violations[0]
    assert violation.field == "size_bytes"
    assert "52428800" in violation.description
    assert str(60 * 1024 * 1024) in violation.description


def test_rpc_without_token_is_unauthenticated(stub: media_pb2_grpc.MediaServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetMedia(pb.GetMediaRequest(media_id="whatever"))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_unknown_media_is_not_found(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetMedia(pb.GetMediaRequest(media_id="no-such-media"), metadata=auth(unique_user))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_another_users_media_is_permission_denied(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    session = create_session(stub, auth, unique_user)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetMedia(
            pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user + "-other")
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
