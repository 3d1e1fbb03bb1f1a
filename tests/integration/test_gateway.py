"""The reference gateway (examples/gateway) in front of a real server: routes from the contract's
google.api.http annotations, the token verified and forwarded, CORS for the app's origin only,
gRPC status as HTTP status with the google.rpc details as JSON, deadlines, and the hardening a
gateway copied into production needs (bounded bodies, malformed JSON, hidden backend addresses,
no thread per connection, no development secret off loopback)."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import grpc.aio
import pytest
import requests
from aiohttp import web
from media.v1 import media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier, issue_token
from media_grpc.api.server import EventLoopThread, RunningServer
from media_grpc.config import Settings
from tests.child_env import clean_env

GATEWAY_DIR = Path(__file__).resolve().parents[2] / "examples" / "gateway"
sys.path.insert(0, str(GATEWAY_DIR))
from gateway import make_app  # noqa: E402
from transcoding import Gateway, routes_from_contract  # noqa: E402

APP_ORIGIN = "http://localhost:3000"
MAX_BODY = 4096
Metadata = list[tuple[str, str]]


@contextmanager
def running_gateway(settings: Settings, target: str, deadline: float = 10) -> Iterator[str]:
    """The gateway's aiohttp app on 127.0.0.1 (a port of its own), on an event loop thread of
    its own, its grpc.aio channel to ``target`` on the same loop; yields its URL."""
    loop = EventLoopThread(name="gateway-loop")

    async def start() -> tuple[web.AppRunner, grpc.aio.Channel, int]:
        channel = grpc.aio.insecure_channel(target)
        gateway = Gateway(
            media_pb2_grpc.MediaServiceStub(channel), TokenVerifier(settings.auth), deadline
        )
        runner = web.AppRunner(make_app(gateway, APP_ORIGIN, max_body_bytes=MAX_BODY))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return runner, channel, port

    async def stop(runner: web.AppRunner, channel: grpc.aio.Channel) -> None:
        await runner.cleanup()
        await channel.close()

    runner, channel, port = loop.run(start(), timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.run(stop(runner, channel), timeout=30)
        loop.loop.call_soon_threadsafe(loop.loop.stop)


@pytest.fixture(scope="module")
def gateway_url(settings: Settings, server: RunningServer) -> Iterator[str]:
    with running_gateway(settings, f"127.0.0.1:{server.port}") as url:
        yield url


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


def create_png_session(
    gateway_url: str, headers: dict[str, str], **fields: str
) -> requests.Response:
    """POST a CreateUploadSession for a 100-byte PNG, with ``fields`` added to its JSON."""
    return requests.post(
        f"{gateway_url}/api/v1/media/upload-session",
        json={
            "purpose": "PURPOSE_POST_IMAGE",
            "fileName": "a.png",
            "contentType": "image/png",
            "sizeBytes": "100",
            **fields,
        },
        headers=headers,
        timeout=10,
    )


def test_a_session_is_created_and_read_back_through_the_routes(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    user = f"gw-{uuid.uuid4().hex[:8]}"
    created = create_png_session(gateway_url, bearer(auth, user))
    assert created.status_code == 200, created.text
    media_id = created.json()["mediaId"]
    assert created.json()["singlePut"]["url"]

    got = requests.get(
        f"{gateway_url}/api/v1/media/{media_id}", headers=bearer(auth, user), timeout=10
    )
    assert got.status_code == 200
    assert got.json()["media"]["status"] == "STATUS_PENDING"


def test_a_declared_sha256_passes_the_gateway_and_is_signed_into_the_single_put(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    digest = hashlib.sha256(b"a png of 100 bytes").digest()
    created = create_png_session(
        gateway_url, bearer(auth, f"gw-{uuid.uuid4().hex[:8]}"), sha256=digest.hex()
    )
    assert created.status_code == 200, created.text
    headers = created.json()["singlePut"]["headers"]
    assert headers["x-amz-checksum-sha256"] == base64.b64encode(digest).decode()


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


def test_a_call_past_its_deadline_answers_504(
    settings: Settings, auth: Callable[..., Metadata]
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with running_gateway(settings, f"127.0.0.1:{port}", deadline=0.3) as url:
            answer = requests.get(
                f"{url}/api/v1/media/{uuid.uuid4()}", headers=bearer(auth, "gw-late"), timeout=10
            )

    assert answer.status_code == 504
    assert answer.json()["code"] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert str(port) not in answer.text


def test_an_unreachable_backend_answers_503_without_its_address(
    settings: Settings, auth: Callable[..., Metadata]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with running_gateway(settings, f"127.0.0.1:{port}") as url:
            answer = requests.get(
                f"{url}/api/v1/media/{uuid.uuid4()}", headers=bearer(auth, "gw-down"), timeout=10
            )

    assert answer.status_code == 503
    assert answer.json()["message"] == "the media service is unavailable; retry later"
    assert str(port) not in answer.text and "127.0.0.1" not in answer.text


def raw_request(url: str, head: str, *, body: bytes = b"", wait: float = 10) -> bytes:
    """Send ``head`` (and ``body``) on a socket of its own; the bytes answered within ``wait``
    seconds, until the gateway closes or the first response is complete."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


def session_head(token: str, length: str | None) -> str:
    lines = [
        "POST /api/v1/media/upload-session HTTP/1.1",
        "Host: gateway",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\n".join(lines) + "\n"


def test_a_body_over_the_limit_is_refused_413_before_it_is_read(
    gateway_url: str, settings: Settings
) -> None:
    token = issue_token(settings.auth, "gw-big")
    # 400 MB announced, none of it sent: the answer comes without the body.
    answer = raw_request(gateway_url, session_head(token, "400000000"))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"google.rpc.BadRequest" in answer


def test_a_request_without_a_valid_token_is_refused_before_its_body_is_read(
    gateway_url: str,
) -> None:
    answer = raw_request(gateway_url, session_head("forged", "400000000"))
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.mark.parametrize(("length", "status"), [("-1", b"400"), (None, b"411")])
def test_a_negative_or_missing_content_length_is_refused_at_once(
    gateway_url: str, settings: Settings, length: str | None, status: bytes
) -> None:
    token = issue_token(settings.auth, "gw-length")
    answer = raw_request(gateway_url, session_head(token, length), wait=5)
    assert answer.split(b" ", 2)[1] == status, answer[:200]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"[]", "must be an object"),
        (b"[" * 4_000, "nests too deep"),  # RecursionError in json.loads
        (b"\xff\xfe", "not JSON"),
        (b'{"sizeBytes": [1]}', "does not fit CreateUploadSession"),
        (b'{"purpose": {"a": 1}}', "does not fit CreateUploadSession"),
    ],
)
def test_a_body_that_is_not_a_json_request_is_400_with_a_google_rpc_status(
    gateway_url: str, auth: Callable[..., Metadata], body: bytes, why: str
) -> None:
    answer = requests.post(
        f"{gateway_url}/api/v1/media/upload-session",
        data=body,
        headers={**bearer(auth, "gw-json"), "Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 400, answer.text
    status = answer.json()
    assert status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert why in status["message"]
    [detail] = status["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["fieldViolations"][0]["field"] == "body"


def test_three_hundred_stalled_connections_hold_no_thread_and_leave_calls_answering(
    gateway_url: str, auth: Callable[..., Metadata]
) -> None:
    threads_before = threading.active_count()
    host, port = gateway_url.removeprefix("http://").split(":")
    with ExitStack() as stack:
        for _ in range(300):
            conn = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
            conn.sendall(b"POST /api/v1/media/upload-session HTTP/1.1\r\nHost: g")  # stalls
        threads_held = threading.active_count() - threads_before
        answer = requests.get(
            f"{gateway_url}/api/v1/media/{uuid.uuid4()}", headers=bearer(auth, "gw-t"), timeout=10
        )

    assert threads_held <= 2, f"{threads_held} threads more with 300 stalled connections"
    assert answer.status_code == 404


def test_the_gateway_refuses_a_network_address_with_the_development_secret() -> None:
    env = clean_env()
    done = subprocess.run(
        [sys.executable, str(GATEWAY_DIR / "gateway.py"), "--listen", "0.0.0.0:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0:0" in done.stderr
