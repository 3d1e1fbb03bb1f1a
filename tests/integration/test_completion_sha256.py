"""A sha256 given to CompleteUpload (a client that hashed while it sent): recorded as if
declared to CreateUploadSession, and refused where it contradicts what the media holds. Through a
real channel, PostgreSQL and the strict S3."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.integration.uploading import create_session, get_media, put_single, rpc_error

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300


def complete_with(stub: Stub, auth: Auth, user: str, media_id: str, sha256: str) -> pb.Media:
    answer: pb.CompleteUploadResponse = stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=media_id, sha256=sha256), metadata=auth(user)
    )
    return answer.media


def test_a_sha256_given_at_completion_is_recorded_and_a_repeat_must_give_the_same(
    stub: Stub, auth: Auth, unique_user: str
) -> None:
    session = create_session(stub, auth, unique_user, PNG)
    put_single(session, PNG)
    digest = hashlib.sha256(PNG).hexdigest()

    media = complete_with(stub, auth, unique_user, session.media_id, digest.upper())

    assert (media.status, media.sha256) == (pb.STATUS_UPLOADED, digest)
    assert get_media(stub, auth, unique_user, session.media_id).sha256 == digest
    again = complete_with(stub, auth, unique_user, session.media_id, digest)
    assert again.status == pb.STATUS_UPLOADED
    other = hashlib.sha256(b"other").hexdigest()
    error = rpc_error(lambda: complete_with(stub, auth, unique_user, session.media_id, other))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert digest in (error.details() or "")
    assert get_media(stub, auth, unique_user, session.media_id).sha256 == digest


def test_a_sha256_at_completion_that_contradicts_the_declared_one_is_refused_and_stays_pending(
    stub: Stub, auth: Auth, unique_user: str
) -> None:
    digest = hashlib.sha256(PNG).hexdigest()
    session = create_session(stub, auth, unique_user, PNG, sha256=digest)
    put_single(session, PNG)
    other = hashlib.sha256(b"other").hexdigest()

    error = rpc_error(lambda: complete_with(stub, auth, unique_user, session.media_id, other))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "CreateUploadSession" in (error.details() or "")
    assert get_media(stub, auth, unique_user, session.media_id).status == pb.STATUS_PENDING
    media = complete_with(stub, auth, unique_user, session.media_id, digest)
    assert (media.status, media.sha256) == (pb.STATUS_UPLOADED, digest)


def test_a_malformed_sha256_at_completion_is_invalid_argument_naming_the_field(
    stub: Stub, auth: Auth, unique_user: str
) -> None:
    session = create_session(stub, auth, unique_user, PNG)
    put_single(session, PNG)

    error = rpc_error(lambda: complete_with(stub, auth, unique_user, session.media_id, "abc"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sha256" in (error.details() or "")
    assert get_media(stub, auth, unique_user, session.media_id).status == pb.STATUS_PENDING
