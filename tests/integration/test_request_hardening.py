"""Requests as an attacker or an unlucky client sends them, over a real channel: oversized and
hostile ids, forged page tokens, posts of two owners, bounded retries and per-owner rates."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.domain.model import Failure, FailureReason, Purpose, Status
from media_grpc.observability.logs import TextFormatter
from media_grpc.service.retry_processing import RETRIES_KEY
from tests.integration.records import load, store
from tests.log_capture import captured
from tests.media_records import make_media
from tests.waiting import eventually

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value


def field_violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    fields = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return fields


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    with captured("media_grpc.rpc", TextFormatter()) as out:
        yield out


def failed(app: Application, owner: str, reason: FailureReason, **fields: object) -> str:
    media = make_media(owner, status=Status.FAILED, **fields)  # type: ignore[arg-type]
    media.failure = Failure(reason, "stopped")
    return store(app, media).id


# Logs are bounded.


def lines_of_call(log: io.StringIO, request_id: str) -> list[str]:
    """The text log lines of one call, found by the request id the test sent with it: a line
    of an earlier test's call may still be arriving (the line is written after the status)."""
    return [line for line in log.getvalue().splitlines() if f"request_id={request_id}" in line]


def fresh_request_id() -> tuple[str, str]:
    return ("x-request-id", f"req-{uuid.uuid4().hex}")


def test_an_unauthenticated_call_with_a_megabyte_id_writes_a_bounded_log_line(
    stub: Stub, text_log: io.StringIO
) -> None:
    huge = "U" * 1_000_000
    request_id = fresh_request_id()
    error = refusal(lambda: stub.GetMedia(pb.GetMediaRequest(media_id=huge), metadata=[request_id]))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    [line] = eventually(lambda: lines_of_call(text_log, request_id[1]), "the log line")
    assert "method=/media.v1.MediaService/GetMedia" in line
    assert len(line) < 1000
    assert "U" * 128 in line and "U" * 129 not in line


def test_a_newline_in_a_media_id_cannot_forge_a_text_log_line(
    stub: Stub, auth: Auth, unique_user: str, text_log: io.StringIO
) -> None:
    forged = "x\n2026-01-01 00:00:00,000 INFO media_grpc.rpc rpc code=OK admin=yes"
    request_id = fresh_request_id()
    refusal(
        lambda: stub.GetMedia(
            pb.GetMediaRequest(media_id=forged), metadata=[*auth(unique_user), request_id]
        )
    )
    [line] = eventually(lambda: lines_of_call(text_log, request_id[1]), "the log line")
    assert "x\\n2026" in line
    assert not [x for x in text_log.getvalue().splitlines() if x.startswith("2026-01-01")]


def test_a_7_kb_media_id_is_invalid_argument_with_a_cut_echo_not_resource_exhausted(
    stub: Stub, auth: Auth, unique_user: str
) -> None:
    error = refusal(
        lambda: stub.GetMedia(pb.GetMediaRequest(media_id="7" * 7000), metadata=auth(unique_user))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["media_id"]
    assert len(error.details() or "") < 200
    trailing = sum(len(k) + len(v) for k, v in error.trailing_metadata() or ())
    assert trailing < 1000


# Ids are validated at the edge.

BAD_IDS = {
    "dot": ".",
    "dot-dot": "..",
    "slash": "alice/../bob",
    "control character": "alice\x00",
    "newline": "alice\nbob",
    "129 characters": "a" * 129,
}


@pytest.mark.parametrize("bad", list(BAD_IDS))
def test_bad_owner_ids_are_invalid_argument_naming_the_field(
    bad: str, stub: Stub, auth: Auth
) -> None:
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_IMAGE,
        file_name="a.png",
        content_type="image/png",
        size_bytes=10,
        owner_id=BAD_IDS[bad],
    )
    error = refusal(
        lambda: stub.CreateUploadSession(request, metadata=auth("gateway", role="service"))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["owner_id"]


#: field at fault -> (method, request naming the bad value ``v``), called as a service.
ID_CALLS: dict[str, tuple[str, Callable[[str], object]]] = {
    "media_id": ("DeleteMedia", lambda v: pb.DeleteMediaRequest(media_id=v)),
    "media_id ": ("RetryProcessing", lambda v: pb.RetryProcessingRequest(media_id=v)),
    "media_ids[0]": ("BatchGetMedia", lambda v: pb.BatchGetMediaRequest(media_ids=[v])),
    "media_ids[0] ": (
        "AttachMedia",
        lambda v: pb.AttachMediaRequest(post_id="p", owner_id="alice", media_ids=[v]),
    ),
    "post_id": ("DetachMedia", lambda v: pb.DetachMediaRequest(post_id=v)),
}


@pytest.mark.parametrize("bad", ["dot-dot", "control character", "129 characters"])
@pytest.mark.parametrize("field", list(ID_CALLS))
def test_bad_media_and_post_ids_are_invalid_argument_naming_the_field(
    field: str, bad: str, stub: Stub, auth: Auth
) -> None:
    method, make_request = ID_CALLS[field]
    request = make_request(BAD_IDS[bad])
    service = auth("post-service", role="service")
    call = getattr(stub, method)
    if field == "post_id" and bad == "dot-dot":
        # Post ids never become part of a key: only their length and characters are checked.
        assert list(call(request, metadata=service).media_ids) == []
        return
    answer = refusal(lambda: call(request, metadata=service))
    assert answer.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(answer) == [field.strip()]


# A post belongs to one owner.


@dataclass(frozen=True)
class AlicesPost:
    """A post that holds one media of Alice's, and a media of Bob's on no post."""

    service: list[tuple[str, str]]
    post: str
    alice: str
    alices: str
    bob: str
    bobs: str


@pytest.fixture
def alices_post(stub: Stub, app: Application, auth: Auth, unique_user: str) -> AlicesPost:
    service = auth("post-service", role="service")
    alice, bob = unique_user, unique_user + "-bob"
    post = f"post-{uuid.uuid4().hex[:12]}"
    alices = store(app, make_media(alice)).id
    bobs = store(app, make_media(bob)).id
    stub.AttachMedia(
        pb.AttachMediaRequest(post_id=post, owner_id=alice, media_ids=[alices]), metadata=service
    )
    return AlicesPost(service, post, alice, alices, bob, bobs)


def bob_is_refused(method: Callable[..., Any], request: Callable[..., Any], p: AlicesPost) -> None:
    """``method`` for Bob's media on Alice's post: FAILED_PRECONDITION, naming the reason."""
    error = refusal(
        lambda: method(
            request(post_id=p.post, owner_id=p.bob, media_ids=[p.bobs]), metadata=p.service
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "another owner" in (error.details() or "")


def test_attaching_media_of_another_owner_to_a_post_refuses_and_changes_nothing(
    stub: Stub, app: Application, alices_post: AlicesPost
) -> None:
    p = alices_post
    bob_is_refused(stub.AttachMedia, pb.AttachMediaRequest, p)
    assert load(app, p.alices).post_id == p.post
    assert load(app, p.bobs).post_id is None


def test_validating_media_for_a_post_of_another_owner_refuses_as_attaching_would(
    stub: Stub, alices_post: AlicesPost
) -> None:
    p = alices_post
    bob_is_refused(stub.ValidateMedia, pb.ValidateMediaRequest, p)
    answer = stub.ValidateMedia(
        pb.ValidateMediaRequest(post_id=p.post, owner_id=p.alice, media_ids=[p.alices]),
        metadata=p.service,
    )
    assert answer.all_ok


# Paging tokens are opaque and checked.


@pytest.mark.parametrize(
    "bad",
    [
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
        "[" * 100_000,
        "not-a-token",
        "e30.AAAA",
    ],
    ids=["100k nested brackets, encoded", "100k nested brackets", "garbage", "wrong mac"],
)
def test_a_bad_page_token_is_invalid_argument(
    bad: str, stub: Stub, auth: Auth, unique_user: str
) -> None:
    error = refusal(
        lambda: stub.ListMedia(pb.ListMediaRequest(page_token=bad), metadata=auth(unique_user))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["page_token"]


def test_a_page_token_is_authenticated_and_bound_to_its_listing(
    stub: Stub, app: Application, auth: Auth, unique_user: str
) -> None:
    for _ in range(3):
        store(app, make_media(unique_user))
    first = stub.ListMedia(pb.ListMediaRequest(page_size=2), metadata=auth(unique_user))
    token = first.next_page_token
    assert token
    second = stub.ListMedia(
        pb.ListMediaRequest(page_size=2, page_token=token), metadata=auth(unique_user)
    )
    assert len(second.media) == 1
    body, _, mac = token.partition(".")
    _, media_id = json.loads(base64.urlsafe_b64decode(body))
    forged = base64.urlsafe_b64encode(json.dumps(["1970-01-01", media_id]).encode())
    for bad, caller in (
        (f"{forged.decode()}.{mac}", unique_user),
        (token, unique_user + "-other"),
    ):
        error = refusal(
            lambda bad=bad, caller=caller: stub.ListMedia(
                pb.ListMediaRequest(page_token=bad), metadata=auth(caller)
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# Retries are bounded.


def test_retry_of_a_timeout_is_refused_while_the_time_limit_is_unchanged(
    stub: Stub, app: Application, auth: Auth, unique_user: str
) -> None:
    media_id = failed(app, unique_user, FailureReason.TIMEOUT, purpose=Purpose.POST_VIDEO)
    for _ in range(2):
        error = refusal(
            lambda: stub.RetryProcessing(
                pb.RetryProcessingRequest(media_id=media_id), metadata=auth(unique_user)
            )
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "TIMEOUT" in (error.details() or "")
    assert load(app, media_id).status is Status.FAILED


def test_manual_retries_of_one_media_are_capped(
    stub: Stub, app: Application, settings: Settings, auth: Auth, unique_user: str
) -> None:
    cap = settings.limits.max_retries_per_media
    media = make_media(unique_user, status=Status.FAILED)
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "stopped")
    media.metadata[RETRIES_KEY] = str(cap)
    store(app, media)
    error = refusal(
        lambda: stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=media.id), metadata=auth(unique_user)
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"retried {cap} times" in (error.details() or "")


def test_manual_retries_are_rate_limited_per_owner(
    stub: Stub, app: Application, settings: Settings, auth: Auth, unique_user: str
) -> None:
    burst = settings.limits.retry_burst
    ids = [failed(app, unique_user, FailureReason.PROCESSING_ERROR) for _ in range(burst + 1)]
    for media_id in ids[:burst]:
        stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=media_id), metadata=auth(unique_user)
        )
    error = refusal(
        lambda: stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=ids[-1]), metadata=auth(unique_user)
        )
    )
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert load(app, ids[-1]).status is Status.FAILED
    other = failed(app, unique_user + "-other", FailureReason.PROCESSING_ERROR)
    stub.RetryProcessing(
        pb.RetryProcessingRequest(media_id=other), metadata=auth(unique_user + "-other")
    )


@pytest.mark.parametrize("rpc", ["CompleteUpload", "GetUploadPartUrls"])
def test_complete_upload_and_part_urls_are_rate_limited_per_owner(
    rpc: str, stub: Stub, settings: Settings, auth: Auth, unique_user: str
) -> None:
    if rpc == "CompleteUpload":
        burst = settings.limits.completion_burst

        def call() -> object:
            return stub.CompleteUpload(
                pb.CompleteUploadRequest(media_id=str(uuid.uuid4())), metadata=auth(unique_user)
            )
    else:
        burst = settings.limits.part_urls_burst

        def call() -> object:
            return stub.GetUploadPartUrls(
                pb.GetUploadPartUrlsRequest(media_id=str(uuid.uuid4()), part_numbers=[1]),
                metadata=auth(unique_user),
            )

    codes = [refusal(call).code() for _ in range(burst)]
    assert set(codes) == {grpc.StatusCode.NOT_FOUND}
    # The bucket refills while the calls run (a loaded machine is slow): keep calling, bounded.
    for _ in range(2 * burst):
        if refusal(call).code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            break
    else:
        pytest.fail(f"{rpc} was never limited")
