"""Originals are private: GetMedia presigns a short-lived GET for the owner and services only."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.upload_sessions import upload

#: PNG magic and padding: completion sniffs the type; no worker runs here.
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(200)

Auth = Callable[..., list[tuple[str, str]]]


def uploaded(stub: media_pb2_grpc.MediaServiceStub, auth: Auth, owner: str) -> str:
    return upload(stub, auth(owner), PNG_BYTES, file_name="private.png")


def test_the_owners_presigned_original_works_and_a_stranger_gets_no_url(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user)

    mine = stub.GetMedia(pb.GetMediaRequest(media_id=media_id), metadata=auth(unique_user))
    with pytest.raises(grpc.RpcError) as stranger:
        stub.GetMedia(pb.GetMediaRequest(media_id=media_id), metadata=auth(unique_user + "-x"))

    url = mine.media.original_url
    assert mine.media.storage_key.startswith(f"uploads/posts/{unique_user}/")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    assert requests.get(url, timeout=10).content == PNG_BYTES
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_service_gets_the_presigned_original_and_lists_carry_no_original_url(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user)

    got = stub.GetMedia(
        pb.GetMediaRequest(media_id=media_id), metadata=auth("post-service", role="service")
    )
    listed = stub.ListMedia(pb.ListMediaRequest(), metadata=auth(unique_user))

    assert requests.get(got.media.original_url, timeout=10).content == PNG_BYTES
    assert [m.original_url for m in listed.media] == [""]
