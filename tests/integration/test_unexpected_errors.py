"""An unexpected exception, in a unary call (thread pool) or a stream (event loop), becomes
INTERNAL with an incident id, never a stack trace for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.api.servicer import Context, MediaServicer
from media_grpc.bootstrap import Application
from tests.integration.servers import serving

Auth = Callable[..., list[tuple[str, str]]]


class BrokenServicer(MediaServicer):
    def GetMedia(self, request: pb.GetMediaRequest, context: Context) -> pb.GetMediaResponse:  # noqa: N802
        raise RuntimeError("a bug")

    async def WatchMedia(  # noqa: N802
        self, request: pb.WatchMediaRequest, context: object
    ) -> AsyncIterator[pb.WatchMediaResponse]:
        raise RuntimeError("a bug")
        yield


def test_unexpected_errors_are_internal_with_an_incident_id(
    app: Application, auth: Auth, unique_user: str
) -> None:
    with (
        serving(app, servicer=app.servicer(BrokenServicer)) as running,
        grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel,
    ):
        stub = media_pb2_grpc.MediaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as unary:
            stub.GetMedia(pb.GetMediaRequest(media_id="m"), metadata=auth(unique_user), timeout=10)
        with pytest.raises(grpc.RpcError) as stream:
            next(
                stub.WatchMedia(
                    pb.WatchMediaRequest(media_id="m"), metadata=auth(unique_user), timeout=10
                )
            )

    for error in (unary.value, stream.value):
        assert error.code() == grpc.StatusCode.INTERNAL
        assert "incident" in (error.details() or "")
        assert "a bug" not in (error.details() or "")
