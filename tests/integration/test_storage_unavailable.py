"""Storage that does not answer: the adapter's error is a domain Unavailable, so the call ends
UNAVAILABLE (retryable) with a message of our own, not the driver's words.

The unreachable store is a fake (tests/fakes.py) raising the adapter's own error: the fault is
injected at the port, which no running store (the strict S3 included) can do; what is proven is
the mapping of that error to UNAVAILABLE. A store answering 503 SlowDown (a proxy in front of the
strict S3) is tests/faults/test_storage_slow_down.py."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.blob_storage import BlobStorageUnavailable, PresignedRequest
from media_grpc.adapters.jwt_tokens import TokenVerifier, issue_token
from media_grpc.api.messages import MediaMessages
from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.servicer import MediaServicer
from media_grpc.config.auth import AuthSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.posts import PostMedia
from media_grpc.service.queries import MediaQueries
from media_grpc.service.uploads import UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage


class UnreachableStorage(InMemoryBlobStorage):
    def presign_put(self, *args: object, **kwargs: object) -> PresignedRequest:
        raise BlobStorageUnavailable("Could not connect to the endpoint URL: secret-host:9000")


@pytest.fixture
def server() -> Iterator[RunningServer]:
    ctx = ServiceContext(uow=FakeDatabase().uow, storage=UnreachableStorage())
    servicer = MediaServicer(
        UploadService(ctx, UploadSettings()),
        MediaQueries(ctx),
        MediaMessages("http://cdn"),
        posts=PostMedia(ctx),
        deletion=MediaDeletion(ctx),
    )
    running = create_server(servicer, TokenVerifier(AuthSettings()), "127.0.0.1:0")
    yield running
    running.stop(0)


def test_unreachable_storage_ends_the_call_unavailable_with_our_message(
    server: RunningServer,
) -> None:
    token = issue_token(AuthSettings(), "alice")
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.CreateUploadSession(
                pb.CreateUploadSessionRequest(
                    purpose=pb.PURPOSE_POST_IMAGE,
                    file_name="a.png",
                    content_type="image/png",
                    size_bytes=100,
                ),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert raised.value.details() == "object storage is unavailable; retry"
