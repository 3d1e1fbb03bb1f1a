"""Presigned uploads the strict S3 refuses, and what the service answers afterwards.

Each refusal below is the store's (Ceph's RADOS Gateway, 403): a tampered or expired signature,
a Content-Type or Content-Length other than signed, a request without any signature. The service
then answers as docs/uploads.md promises: a single PUT whose object never arrived is
FAILED_PRECONDITION with OBJECT_MISSING and ends FAILED; a refused part is a mistake the client
can put right: CompleteUpload is FAILED_PRECONDITION, the media stays PENDING, and a fresh part
URL completes it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import grpc
import pytest
from media.v1 import media_pb2 as pb

from media_grpc.domain.keys import ORIGINALS_PREFIX, UPLOADS_PREFIX
from tests.integration.uploading import error_reason, rpc_error
from tests.strict_s3.service import RunningService
from tests.strict_s3.uploads import (
    MiB,
    big_png_like,
    get_media,
    part_urls,
    png_bytes,
    presigning_in_the_past,
    put,
    send_parts,
    session,
    tampered,
    unsigned,
)
from tests.waiting import eventually

#: Longer than any URL the service signs (MEDIA_UPLOADS__URL_TTL_SECONDS, 15 minutes).
PAST_EXPIRY = timedelta(minutes=16)

Session = pb.CreateUploadSessionResponse


@pytest.fixture
def data() -> bytes:
    """The PNG a test uploads."""
    return png_bytes()


@pytest.fixture
def created(service: RunningService, unique_user: str, data: bytes) -> Session:
    """A session for ``data``, its URLs signed now."""
    return session(service, unique_user, data)


def assert_completion_finds_no_object(service: RunningService, user: str, media_id: str) -> None:
    """CompleteUpload of a single PUT whose bytes the store refused: OBJECT_MISSING, FAILED,
    nothing in storage (docs/uploads.md, "Which refusals are final")."""
    refused = rpc_error(
        lambda: service.stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=media_id), metadata=service.auth(user)
        )
    )
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused) == "OBJECT_MISSING"
    media = get_media(service, user, media_id)
    assert media.status == pb.STATUS_FAILED
    assert media.failure.reason == pb.FAILURE_REASON_OBJECT_MISSING


def test_the_signed_single_put_is_accepted_and_completes(
    service: RunningService, unique_user: str, data: bytes, created: Session
) -> None:
    """The reference for the refusals below: the same PUT as signed works."""
    answer = put(created.single_put.url, data, dict(created.single_put.headers))

    assert answer.status_code == 200
    completed = service.stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=created.media_id), metadata=service.auth(unique_user)
    )
    assert completed.media.status == pb.STATUS_UPLOADED


def test_a_put_with_a_tampered_signature_is_refused_and_completion_finds_no_object(
    service: RunningService, unique_user: str, data: bytes, created: Session
) -> None:
    answer = put(tampered(created.single_put.url), data, dict(created.single_put.headers))

    assert answer.status_code == 403
    assert "SignatureDoesNotMatch" in answer.text
    assert_completion_finds_no_object(service, unique_user, created.media_id)


def test_an_expired_put_is_refused_and_completion_finds_no_object(
    service: RunningService, unique_user: str
) -> None:
    data = png_bytes()
    with presigning_in_the_past(service.app, PAST_EXPIRY):
        created = session(service, unique_user, data)

    answer = put(created.single_put.url, data, dict(created.single_put.headers))

    assert answer.status_code == 403
    assert_completion_finds_no_object(service, unique_user, created.media_id)


@pytest.mark.parametrize(
    ("header", "value"),
    [("Content-Type", "text/html"), ("Content-Type", "image/jpeg")],
)
def test_a_put_with_another_content_type_than_signed_is_refused(
    service: RunningService,
    unique_user: str,
    data: bytes,
    created: Session,
    header: str,
    value: str,
) -> None:
    answer = put(created.single_put.url, data, {**created.single_put.headers, header: value})

    assert answer.status_code == 403
    assert_completion_finds_no_object(service, unique_user, created.media_id)


def test_a_put_longer_than_the_signed_content_length_is_refused(
    service: RunningService, unique_user: str, data: bytes, created: Session
) -> None:
    headers = {k: v for k, v in created.single_put.headers.items() if k != "Content-Length"}

    answer = put(created.single_put.url, data + b"<script>alert(1)</script>", headers)

    assert answer.status_code == 403
    assert_completion_finds_no_object(service, unique_user, created.media_id)


def test_an_anonymous_put_to_an_upload_key_is_refused(
    service: RunningService, unique_user: str, data: bytes, created: Session
) -> None:
    answer = put(unsigned(created.single_put.url), data, {"Content-Type": "image/png"})

    assert answer.status_code == 403
    assert "AccessDenied" in answer.text
    assert_completion_finds_no_object(service, unique_user, created.media_id)


def multipart_session(
    service: RunningService, user: str, data: bytes
) -> pb.CreateUploadSessionResponse:
    created = session(service, user, data)
    assert created.multipart.part_count == 2, "the test needs a two-part upload"
    return created


def assert_part_refusal_can_be_put_right(
    service: RunningService, user: str, created: pb.CreateUploadSessionResponse, data: bytes
) -> None:
    """Storage holds no part 1; completing is FAILED_PRECONDITION with the media PENDING; a
    fresh URL for part 1 and a completion then work (docs/uploads.md)."""
    media_id, part_size = created.media_id, created.multipart.part_size
    held = service.stub.ListUploadedParts(
        pb.ListUploadedPartsRequest(media_id=media_id), metadata=service.auth(user)
    )
    assert [p.part_number for p in held.parts] == [2]
    guessed = [pb.CompletedPart(part_number=1, etag='"0"'), *held_parts(held)]
    refused = rpc_error(
        lambda: service.stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=media_id, parts=guessed), metadata=service.auth(user)
        )
    )
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert get_media(service, user, media_id).status == pb.STATUS_PENDING

    parts = send_parts(part_urls(service, user, media_id, [1, 2]), data, part_size)
    completed = service.stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=media_id, parts=parts), metadata=service.auth(user)
    )
    assert completed.media.status == pb.STATUS_UPLOADED


@pytest.fixture
def big() -> bytes:
    """Bytes for a multipart upload of two parts."""
    return big_png_like(9 * MiB)


@pytest.fixture
def in_parts(service: RunningService, unique_user: str, big: bytes) -> Session:
    """A multipart session for ``big``, its part URLs signed now."""
    return multipart_session(service, unique_user, big)


def held_parts(held: pb.ListUploadedPartsResponse) -> list[pb.CompletedPart]:
    return [pb.CompletedPart(part_number=p.part_number, etag=p.etag) for p in held.parts]


def test_an_upload_part_with_a_tampered_signature_is_refused_and_can_be_sent_again(
    service: RunningService, unique_user: str, big: bytes, in_parts: Session
) -> None:
    first, second = in_parts.multipart.part_urls
    part_size = in_parts.multipart.part_size

    answer = put(tampered(first.url), big[:part_size])

    assert answer.status_code == 403
    assert "SignatureDoesNotMatch" in answer.text
    put(second.url, big[part_size:]).raise_for_status()
    assert_part_refusal_can_be_put_right(service, unique_user, in_parts, big)


def test_an_expired_upload_part_is_refused_and_a_fresh_url_works(
    service: RunningService, unique_user: str
) -> None:
    data = big_png_like(9 * MiB)
    with presigning_in_the_past(service.app, PAST_EXPIRY):
        created = multipart_session(service, unique_user, data)
    first = created.multipart.part_urls[0]
    part_size = created.multipart.part_size

    answer = put(first.url, data[:part_size])

    assert answer.status_code == 403
    put(
        part_urls(service, unique_user, created.media_id, [2])[0], data[part_size:]
    ).raise_for_status()
    assert_part_refusal_can_be_put_right(service, unique_user, created, data)


def test_an_upload_part_of_another_size_than_signed_is_refused(
    service: RunningService, unique_user: str, big: bytes, in_parts: Session
) -> None:
    first, second = in_parts.multipart.part_urls
    part_size = in_parts.multipart.part_size

    answer = put(first.url, big[: part_size - MiB])

    assert answer.status_code == 403
    put(second.url, big[part_size:]).raise_for_status()
    assert_part_refusal_can_be_put_right(service, unique_user, in_parts, big)


def test_bytes_other_than_the_declared_sha256_pass_the_store_and_the_job_fails_them(
    service: RunningService, unique_user: str
) -> None:
    """Ceph's RADOS Gateway (16) does not verify a signed x-amz-checksum-sha256 (AWS S3 does):
    the service's own check, the job's hash of the original, is what refuses the bytes."""
    declared = png_bytes()
    sent = declared[:-1] + bytes([declared[-1] ^ 1])  # same size, one bit changed
    created = session(service, unique_user, declared, sha256=hashlib.sha256(declared).hexdigest())
    assert "x-amz-checksum-sha256" in created.single_put.headers

    answer = put(created.single_put.url, sent, dict(created.single_put.headers))

    assert answer.status_code == 200
    service.stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=created.media_id), metadata=service.auth(unique_user)
    )
    failed = eventually(
        lambda: (
            (m := get_media(service, unique_user, created.media_id)).status == pb.STATUS_FAILED
            and m
        ),
        "the job to fail the media",
        timeout=30,
    )
    assert failed.failure.reason == pb.FAILURE_REASON_CHECKSUM_MISMATCH
    for prefix in (UPLOADS_PREFIX, ORIGINALS_PREFIX):
        listed = service.s3.list_objects_v2(
            Bucket=service.bucket, Prefix=f"{prefix}posts/{unique_user}/"
        )
        assert listed.get("KeyCount", 0) == 0, f"{prefix} still holds the media"
