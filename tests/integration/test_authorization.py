"""Who may call what, over a real channel: user A (the owner) vs user B vs a service, and
every way a token can be wrong."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.domain.model import Status
from tests.integration.records import stored_media

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub
OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


@dataclass(frozen=True)
class Target:
    """What a call acts on: A's media (READY, or PENDING for CompleteUpload) and a post."""

    owner: str
    media_id: str
    post_id: str


Call = Callable[[Stub, Target, list[tuple[str, str]]], Any]

#: name -> (call, expected code for A, for B, for a service)
MATRIX: dict[str, tuple[Call, grpc.StatusCode, grpc.StatusCode, grpc.StatusCode]] = {
    "CreateUploadSession for A": (
        lambda s, t, md: s.CreateUploadSession(
            pb.CreateUploadSessionRequest(
                purpose=pb.PURPOSE_POST_IMAGE,
                file_name="a.png",
                content_type="image/png",
                size_bytes=10,
                owner_id=t.owner,
            ),
            metadata=md,
        ),
        OK,
        DENIED,
        OK,
    ),
    "CompleteUpload": (
        lambda s, t, md: s.CompleteUpload(
            pb.CompleteUploadRequest(media_id=t.media_id), metadata=md
        ),
        PRECONDITION,  # allowed; the object was never uploaded
        DENIED,
        PRECONDITION,
    ),
    "GetMedia": (
        lambda s, t, md: s.GetMedia(pb.GetMediaRequest(media_id=t.media_id), metadata=md),
        OK,
        DENIED,
        OK,
    ),
    "ListMedia of A": (
        lambda s, t, md: s.ListMedia(pb.ListMediaRequest(owner_id=t.owner), metadata=md),
        OK,
        DENIED,
        OK,
    ),
    "DeleteMedia": (
        lambda s, t, md: s.DeleteMedia(pb.DeleteMediaRequest(media_id=t.media_id), metadata=md),
        OK,
        DENIED,
        OK,
    ),
    "ValidateOwnership for A": (
        lambda s, t, md: s.ValidateOwnership(
            pb.ValidateOwnershipRequest(owner_id=t.owner, media_id=t.media_id), metadata=md
        ),
        OK,
        DENIED,
        OK,
    ),
    "ValidateMedia": (
        lambda s, t, md: s.ValidateMedia(
            pb.ValidateMediaRequest(owner_id=t.owner, media_ids=[t.media_id], post_id=t.post_id),
            metadata=md,
        ),
        DENIED,
        DENIED,
        OK,
    ),
    "AttachMedia": (
        lambda s, t, md: s.AttachMedia(
            pb.AttachMediaRequest(post_id=t.post_id, owner_id=t.owner, media_ids=[t.media_id]),
            metadata=md,
        ),
        DENIED,
        DENIED,
        OK,
    ),
    "DetachMedia": (
        lambda s, t, md: s.DetachMedia(pb.DetachMediaRequest(post_id=t.post_id), metadata=md),
        DENIED,
        DENIED,
        OK,
    ),
}

CALLERS = ("A", "B", "service")


def code_of(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as e:
        return e.code()  # type: ignore[no-any-return]
    return OK


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("rpc", list(MATRIX))
def test_authorization_matrix(
    rpc: str, caller: str, stub: Stub, app: Application, auth: Auth, unique_user: str
) -> None:
    call, *expected = MATRIX[rpc]
    status = Status.PENDING if rpc == "CompleteUpload" else Status.READY
    target = Target(
        unique_user, stored_media(app, unique_user, status=status).id, f"post-{uuid.uuid4().hex}"
    )
    metadata = {
        "A": auth(unique_user),
        "B": auth(f"{unique_user}-b"),
        "service": auth("post-service", role="service"),
    }[caller]
    assert code_of(lambda: call(stub, target, metadata)) == expected[CALLERS.index(caller)]


def test_batch_get_returns_only_the_callers_media(
    stub: Stub, app: Application, auth: Auth, unique_user: str
) -> None:
    mine = stored_media(app, unique_user).id
    theirs = stored_media(app, f"{unique_user}-b").id
    answer = stub.BatchGetMedia(
        pb.BatchGetMediaRequest(media_ids=[mine, theirs]), metadata=auth(unique_user)
    )
    assert [m.id for m in answer.media] == [mine]
    assert list(answer.not_found_ids) == [theirs]
    service = stub.BatchGetMedia(
        pb.BatchGetMediaRequest(media_ids=[mine, theirs]),
        metadata=auth("gateway", role="service"),
    )
    assert [m.id for m in service.media] == [mine, theirs]


def test_a_role_outside_the_service_roles_is_an_ordinary_user(
    stub: Stub, app: Application, auth: Auth, unique_user: str
) -> None:
    media_id = stored_media(app, unique_user).id
    code = code_of(
        lambda: stub.GetMedia(
            pb.GetMediaRequest(media_id=media_id), metadata=auth("eve", role="admin")
        )
    )
    assert code == DENIED


def token(settings: Settings, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "alice",
        "iss": settings.auth.jwt_issuer,
        "aud": settings.auth.jwt_audience,
        "iat": now,
        "exp": now + 60,
    }
    key = overrides.pop("key", settings.auth.jwt_secret.get_secret_value())
    algorithm = overrides.pop("algorithm", "HS256")
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


BAD_TOKENS: dict[str, Callable[[Settings], list[tuple[str, str]]]] = {
    "missing": lambda s: [],
    "not bearer": lambda s: [("authorization", f"Basic {token(s)}")],
    "garbage": lambda s: [("authorization", "Bearer not.a.jwt")],
    "expired": lambda s: [("authorization", f"Bearer {token(s, exp=int(time.time()) - 300)}")],
    "forged signature": lambda s: [("authorization", f"Bearer {token(s, key='guessed' * 6)}")],
    "wrong audience": lambda s: [("authorization", f"Bearer {token(s, aud='other-service')}")],
    "wrong issuer": lambda s: [("authorization", f"Bearer {token(s, iss='someone-else')}")],
    "no expiry": lambda s: [("authorization", f"Bearer {token(s, exp=None)}")],
    "alg none": lambda s: [("authorization", f"Bearer {token(s, key=None, algorithm='none')}")],
    "service role, forged": lambda s: [
        ("authorization", f"Bearer {token(s, key='guessed' * 6, role='service')}")
    ],
    "role is a number": lambda s: [("authorization", f"Bearer {token(s, role=123)}")],
    "role is a boolean": lambda s: [("authorization", f"Bearer {token(s, role=True)}")],
    "role list holds an object": lambda s: [
        ("authorization", f"Bearer {token(s, role=['service', {'x': 1}])}")
    ],
    "subject is a dot segment": lambda s: [("authorization", f"Bearer {token(s, sub='..')}")],
    "lives longer than accepted": lambda s: [
        ("authorization", f"Bearer {token(s, exp=int(time.time()) + 30 * 86_400)}")
    ],
    "issued in the future": lambda s: [
        ("authorization", f"Bearer {token(s, iat=int(time.time()) + 3600)}")
    ],
}


@pytest.mark.parametrize("rpc", ["GetMedia", "AttachMedia", "ListMedia of A"])
@pytest.mark.parametrize("bad", list(BAD_TOKENS))
def test_bad_tokens_are_unauthenticated(
    bad: str, rpc: str, stub: Stub, app: Application, settings: Settings, unique_user: str
) -> None:
    target = Target(unique_user, stored_media(app, unique_user).id, "post-x")
    call = MATRIX[rpc][0]
    code = code_of(lambda: call(stub, target, BAD_TOKENS[bad](settings)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_unauthenticated_messages_do_not_reveal_the_expected_audience_or_issuer(
    stub: Stub, settings: Settings
) -> None:
    for claims in ({"aud": "other-service"}, {"iss": "someone-else"}):
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetMedia(
                pb.GetMediaRequest(media_id=str(uuid.uuid4())),
                metadata=[("authorization", f"Bearer {token(settings, **claims)}")],
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        message = refused.value.details() or ""
        assert "not accepted" in message
        assert settings.auth.jwt_audience not in message
        assert settings.auth.jwt_issuer not in message


def test_a_token_that_expired_within_the_clock_skew_leeway_is_accepted(
    stub: Stub, app: Application, settings: Settings, unique_user: str
) -> None:
    media_id = stored_media(app, unique_user).id
    late = token(settings, sub=unique_user, exp=int(time.time()) - 5)
    assert settings.auth.clock_skew_seconds >= 10
    answer = stub.GetMedia(
        pb.GetMediaRequest(media_id=media_id), metadata=[("authorization", f"Bearer {late}")]
    )
    assert answer.media.id == media_id
