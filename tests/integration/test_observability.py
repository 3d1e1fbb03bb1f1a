"""What operators see after real RPCs: the /metrics endpoint and one JSON log line per RPC."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.observability.logs import JsonFormatter
from media_grpc.observability.metrics import MetricsEndpoint, start_metrics_server
from tests import upload_sessions
from tests.log_capture import captured
from tests.ports import free_port
from tests.waiting import eventually

Auth = Callable[..., list[tuple[str, str]]]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300

#: The metrics docs/operations.md promises after an upload (counters carry ``_total``).
UPLOAD_METRICS = (
    "media_rpc_requests_total",
    "media_rpc_duration_seconds_bucket",
    "media_upload_sessions_created_total",
    "media_uploads_completed_total",
    "media_uploads_failed_total",
    "media_verification_failures_total",
)


@pytest.fixture
def metrics_endpoint() -> Iterator[MetricsEndpoint]:
    endpoint = start_metrics_server("127.0.0.1", free_port())
    assert endpoint is not None
    yield endpoint
    endpoint.stop()


@pytest.fixture
def rpc_log() -> Iterator[io.StringIO]:
    with captured("media_grpc.rpc", JsonFormatter()) as out:
        yield out


def upload(stub: media_pb2_grpc.MediaServiceStub, metadata: list[tuple[str, str]]) -> str:
    return upload_sessions.upload(stub, metadata, PNG, file_name="a.png")


def test_metrics_endpoint_exposes_rpc_and_upload_metrics_after_an_upload(
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
    metrics_endpoint: MetricsEndpoint,
) -> None:
    metadata = auth(unique_user)
    upload(stub, metadata)
    missing = upload_sessions.create_session(stub, metadata, bytes(9), file_name="b.png")
    with pytest.raises(grpc.RpcError):
        stub.CompleteUpload(pb.CompleteUploadRequest(media_id=missing.media_id), metadata=metadata)

    def exposition_with_the_failed_call() -> str:
        text = requests.get(f"http://127.0.0.1:{metrics_endpoint.port}/metrics", timeout=5).text
        failed = 'media_rpc_requests_total{code="FAILED_PRECONDITION",method="CompleteUpload"}'
        return text if failed in text else ""

    text = eventually(exposition_with_the_failed_call, "the failed call's RPC counter")

    for name in UPLOAD_METRICS:
        assert f"\n{name}{{" in text, name
    assert 'media_rpc_requests_total{code="OK",method="CompleteUpload"}' in text
    assert 'media_rpc_requests_total{code="FAILED_PRECONDITION",method="CompleteUpload"}' in text
    assert 'media_upload_sessions_created_total{mode="single",purpose="POST_IMAGE"}' in text
    assert 'media_verification_failures_total{reason="OBJECT_MISSING"}' in text


def test_each_rpc_logs_one_json_line_with_request_id_subject_media_id_and_code(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str, rpc_log: io.StringIO
) -> None:
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    metadata = [*auth(unique_user), ("x-request-id", request_id)]
    media_id = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError):
        stub.GetMedia(pb.GetMediaRequest(media_id=media_id), metadata=metadata)
    stub.ListMedia(pb.ListMediaRequest(), metadata=auth(unique_user))

    def logged() -> list[dict[str, Any]]:
        return [json.loads(line) for line in rpc_log.getvalue().splitlines()]

    def both_logged() -> list[dict[str, Any]]:
        lines = logged()
        methods = [line["method"] for line in lines if line.get("subject") == unique_user]
        return lines if len(methods) >= 2 else []

    lines = eventually(both_logged, "the GetMedia and ListMedia log lines")
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert len(mine) == 1
    entry = mine[0]
    assert entry["method"] == "/media.v1.MediaService/GetMedia"
    assert (entry["code"], entry["subject"], entry["media_id"]) == (
        "NOT_FOUND",
        unique_user,
        media_id,
    )
    assert entry["duration_ms"] >= 0
    listed = [line for line in lines if line.get("subject") == unique_user and line is not entry]
    assert [line["method"].rsplit("/", 1)[-1] for line in listed] == ["ListMedia"]
    assert len(listed[0]["request_id"]) == 32  # generated when the caller sends none
