"""The reference gateway (examples/gateway) in front of a real server: routes from the contract's
google.api.http annotations, the token verified and forwarded, CORS for the app's origin only,
gRPC status as HTTP status with the google.rpc details as JSON, and deadlines."""

from __future__ import annotations

import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
import requests
from media.v1 import media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier, issue_token
from media_grpc.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "gateway"))
from gateway import Gateway, make_handler, routes_from_contract

APP_ORIGIN = "http://localhost:3000"
Metadata = list[tuple[str, str]]


@pytest.fixture(scope="module")
def gateway_url(settings: Settings, channel: grpc.Channel) -> Iterator[str]:
    gateway = Gateway(media_pb2_grpc.MediaServiceStub(channel), TokenVerifier(settings.auth), 10)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(gateway, APP_ORIGIN))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def bearer(auth: Callable[..., Metadata], user: str) -> dict[str, str]:
    return {"Authorization": auth(user)[0][1]}


def test_every_route_the_app_plans_comes_from_the_contract() -> None:
    routes = {(r.http_method, r.pattern.pattern, r.rpc) for r in routes_from_contract()}
    assert routes == {
        ("POST", "^/api/v1/media/upload-session$", "CreateUploadSession"),
        ("POST", "^/api/v1/media/(?P<media_id>[^/]+)/part-urls$", "GetUploadPartUrls"),
        ("GET", "^/api/v1/media/(?P<media_id>[^/]+)/parts$", "ListUploadedParts"),
        ("POST", "^/api/v1/media/(?P<media_id>[^/]+)/complete$", "CompleteUpload"),
        ("POST", "^/api/v1/media/(?P<media_id>[^/]+)/abort$", "AbortUpload"),
        ("GET", "^/api/v1/media/(?P<media_id>[^/]+)$", "GetMedia"),
        ("DELETE", "^/api/v1/media/(?P<media_id>[^/]+)$", "DeleteMedia"),
    }


def test_a_session_is_created_and_read_back_through_the_routes(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    user = f"gw-{uuid.uuid4().hex[:8]}"
    created = requests.post(
        f"{gateway_url}/api/v1/media/upload-session",
        json={
            "purpose": "PURPOSE_POST_IMAGE",
            "fileName": "a.png",
            "contentType": "image/png",
            "sizeBytes": "100",
        },
        headers=bearer(auth, user),
        timeout=10,
    )
    assert created.status_code == 200, created.text
    media_id = created.json()["mediaId"]
    assert created.json()["singlePut"]["url"]

    got = requests.get(
        f"{gateway_url}/api/v1/media/{media_id}", headers=bearer(auth, user), timeout=10
    )
    assert got.status_code == 200
    assert got.json()["media"]["status"] == "STATUS_PENDING"


def test_a_refused_request_answers_400_with_the_bad_request_details_as_json(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    answer = requests.post(
        f"{gateway_url}/api/v1/media/upload-session",
        json={
            "purpose": "PURPOSE_POST_IMAGE",
            "fileName": "a.txt",
            "contentType": "text/plain",
            "sizeBytes": "100",
        },
        headers=bearer(auth, "gw-refused"),
        timeout=10,
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "text/plain" in body["message"]
    [detail] = [d for d in body["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    assert detail["fieldViolations"][0]["field"] == "content_type"


def test_an_unknown_media_answers_404_with_the_services_message(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    missing = requests.get(
        f"{gateway_url}/api/v1/media/{uuid.uuid4()}", headers=bearer(auth, "gw-a"), timeout=10
    )
    assert missing.status_code == 404
    assert missing.json()["message"]


def test_a_bad_token_is_refused_at_the_gateway_with_401(gateway_url: str) -> None:
    answer = requests.get(
        f"{gateway_url}/api/v1/media/{uuid.uuid4()}",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=10,
    )
    assert answer.status_code == 401


def test_cors_answers_the_apps_origin_only(gateway_url: str) -> None:
    route = f"{gateway_url}/api/v1/media/upload-session"
    asked = {"Access-Control-Request-Method": "POST"}
    allowed = requests.options(route, headers={"Origin": APP_ORIGIN, **asked}, timeout=10)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = requests.options(route, headers={"Origin": "http://evil.test", **asked}, timeout=10)
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_call_past_its_deadline_answers_504(settings: Settings) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = f"127.0.0.1:{silent.getsockname()[1]}"
        with grpc.insecure_channel(target) as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            gateway = Gateway(stub, TokenVerifier(settings.auth), 0.3)
            token = issue_token(settings.auth, "gw-late")
            status, body = gateway.handle(
                "GET", f"/api/v1/media/{uuid.uuid4()}", f"Bearer {token}", b""
            )

    assert status == 504
    assert body["code"] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
