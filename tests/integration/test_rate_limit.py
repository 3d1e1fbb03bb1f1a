"""CreateUploadSession's per-owner token bucket over a real channel."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.config import Settings

Auth = Callable[..., list[tuple[str, str]]]


def test_burst_then_resource_exhausted_with_retry_info(
    stub: media_pb2_grpc.MediaServiceStub, auth: Auth, settings: Settings, unique_user: str
) -> None:
    burst = settings.limits.upload_session_burst
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_IMAGE, file_name="a.png", content_type="image/png", size_bytes=10
    )
    granted = 0
    refused: grpc.RpcError | None = None
    for _ in range(burst * 2):
        try:
            stub.CreateUploadSession(request, metadata=auth(unique_user))
            granted += 1
        except grpc.RpcError as e:
            refused = e
            break
    assert refused is not None, f"{granted} sessions granted, none refused"
    assert granted >= burst
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(refused)  # type: ignore[arg-type]
    assert status is not None
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert (
        0
        < retry.retry_delay.ToTimedelta().total_seconds()
        <= 1.0 / (settings.limits.upload_sessions_per_second)
    )
    other = stub.CreateUploadSession(request, metadata=auth(unique_user + "-other"))
    assert other.media_id
