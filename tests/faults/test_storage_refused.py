"""Storage that refuses connections (its port closed), over a real connection through boto3:
CompleteUpload ends UNAVAILABLE with our own message, the media stays PENDING with nothing
written, and the same call succeeds once storage is back.

tests/integration/test_storage_unavailable.py proves the mapping with the fault injected at the
port; this proves the other half: that boto3's refused connection becomes that error."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from media.v1 import media_pb2 as pb

from tests.faults.conftest import Served
from tests.faults.proxy import FaultyS3Proxy

pytestmark = pytest.mark.faults


def test_complete_upload_while_storage_refuses_connections_is_unavailable_then_succeeds(
    serve: Callable[..., Served], s3_proxy: FaultyS3Proxy, unique_user: str
) -> None:
    served = serve()
    media_id = served.uploaded_session(unique_user)
    s3_proxy.stop()

    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as refused:
        served.complete(unique_user, media_id)
    took = time.monotonic() - started
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE, refused.value.details()
    assert refused.value.details() == "object storage is unavailable; retry"
    assert "127.0.0.1" not in str(refused.value.details())
    still = served.stub.GetMedia(
        pb.GetMediaRequest(media_id=media_id), metadata=served.auth(unique_user), timeout=30
    ).media
    assert still.status == pb.STATUS_PENDING

    s3_proxy.start()
    completed = served.complete(unique_user, media_id)
    assert completed.status == pb.STATUS_UPLOADED
    print(f"\nCompleteUpload against a refusing store ended UNAVAILABLE after {took:.1f} s")
