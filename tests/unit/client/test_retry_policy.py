"""The client library's channel retries UNAVAILABLE for idempotent calls (its service config),
and docs/integration.md shows other clients the same config."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient
from media_grpc.client.retry_policy import SERVICE_CONFIG
from media_grpc.config.auth import AuthSettings
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
#: A well-formed token (the client refuses a malformed one before calling); nothing checks it.
TOKEN = issue_token(AuthSettings(), "retrying-user")


class FlakyServicer(media_pb2_grpc.MediaServiceServicer):
    """Answers UNAVAILABLE to the first ``failures`` calls of each method it serves."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    def _count(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if self.calls[method] <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the database is unavailable")

    def GetMedia(  # noqa: N802
        self, request: pb.GetMediaRequest, context: grpc.ServicerContext
    ) -> pb.GetMediaResponse:
        self._count("GetMedia", context)
        return pb.GetMediaResponse(media=pb.Media(id=request.media_id))

    def RetryProcessing(  # noqa: N802
        self, request: pb.RetryProcessingRequest, context: grpc.ServicerContext
    ) -> pb.RetryProcessingResponse:
        self._count("RetryProcessing", context)
        return pb.RetryProcessingResponse()


def flaky_server(servicer: FlakyServicer, address: str = "127.0.0.1:0") -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(2), options=[("grpc.so_reuseport", 0)])
    media_pb2_grpc.add_MediaServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port(address)
    server.start()
    return server, port


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyServicer, str]]:
    servicer = FlakyServicer(failures=2)
    server, port = flaky_server(servicer)
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def test_an_idempotent_call_is_retried_through_unavailable(
    flaky: tuple[FlakyServicer, str],
) -> None:
    servicer, address = flaky
    with MediaClient(address, TOKEN, timeout=10) as client:
        assert client.get("m-1").id == "m-1"
    assert servicer.calls["GetMedia"] == 3


def test_a_call_that_is_not_idempotent_is_not_retried(flaky: tuple[FlakyServicer, str]) -> None:
    servicer, address = flaky
    with MediaClient(address, TOKEN, timeout=10) as client, pytest.raises(grpc.RpcError) as e:
        client.stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id="m-1"), metadata=client.metadata(), timeout=10
        )
    assert e.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert servicer.calls["RetryProcessing"] == 1


#: Seconds the retry policy's five attempts span at most (backoffs 0.2 + 0.4 + 0.8 + 1.6).
RETRIES_SPAN_S = 3.0


def test_an_idempotent_call_waits_within_its_deadline_for_a_server_that_comes_back() -> None:
    address = f"127.0.0.1:{free_port()}"
    servicer = FlakyServicer(failures=0)
    with MediaClient(address, TOKEN, timeout=20) as client:
        calling = futures.ThreadPoolExecutor(1).submit(client.get, "m-1")
        # Nothing listens for longer than the retries span: the call waits instead of failing.
        with pytest.raises(futures.TimeoutError):
            calling.result(timeout=RETRIES_SPAN_S + 1)
        server, _port = flaky_server(servicer, address)
        try:
            assert calling.result(timeout=20).id == "m-1"
        finally:
            server.stop(0)
    assert servicer.calls["GetMedia"] == 1


def test_a_call_that_is_not_idempotent_fails_at_once_while_no_server_answers() -> None:
    with MediaClient(f"127.0.0.1:{free_port()}", TOKEN, timeout=20) as client:
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            client.stub.RetryProcessing(
                pb.RetryProcessingRequest(media_id="m-1"), metadata=client.metadata(), timeout=20
            )
    assert e.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10


def test_integration_doc_shows_the_library_service_config() -> None:
    text = (ROOT / "docs" / "integration.md").read_text()
    shown = re.search(r"## Retries for gRPC clients.*?```json\n(.*?)```", text, re.S)
    assert shown is not None
    assert json.loads(shown.group(1)) == SERVICE_CONFIG
