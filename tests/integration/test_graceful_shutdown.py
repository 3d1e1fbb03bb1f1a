"""Stopping the server: health turns NOT_SERVING first, and a call in flight still finishes.

Storage is the in-memory fake (tests/fakes.py), never reached: what is proven is the server's
shutdown, and the call held in flight (GetMedia) reads the fake database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier, issue_token
from media_grpc.api.messages import MediaMessages
from media_grpc.api.server import RunningServer, create_server
from media_grpc.api.servicer import MediaServicer
from media_grpc.config.auth import AuthSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import MediaDeletion
from media_grpc.service.posts import PostMedia
from media_grpc.service.queries import MediaQueries
from media_grpc.service.uploads import UploadService
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media
from tests.waiting import eventually

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class HeldQueries(MediaQueries):
    """GetMedia that waits, inside the server, until the test lets it go."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.entered = threading.Event()
        self.release = threading.Event()

    def get(self, principal: Principal, media_id: str) -> Media:
        self.entered.set()
        assert self.release.wait(30)
        return super().get(principal, media_id)


@pytest.fixture
def held() -> Iterator[tuple[RunningServer, HeldQueries]]:
    db = FakeDatabase()
    db.media["m-1"] = make_media("alice", media_id="m-1", at=NOW, content_type="image/png")
    ctx = ServiceContext(uow=db.uow, storage=InMemoryBlobStorage())
    queries = HeldQueries(ctx)
    servicer = MediaServicer(
        UploadService(ctx, UploadSettings()),
        queries,
        MediaMessages("http://cdn"),
        posts=PostMedia(ctx),
        deletion=MediaDeletion(ctx),
    )
    running = create_server(servicer, TokenVerifier(AuthSettings()), "127.0.0.1:0")
    yield running, queries
    queries.release.set()
    running.stop(0)


def health_status(channel: grpc.Channel) -> int:
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    return int(answer.status)


def refusal(channel: grpc.Channel, deadline: float) -> grpc.StatusCode:
    """Calls health Check until the server refuses one; the refusal's code."""

    def refused() -> grpc.StatusCode | None:
        try:
            health_status(channel)
        except grpc.RpcError as e:
            return e.code()  # type: ignore[no-any-return]
        return None

    return eventually(refused, "the server to refuse new calls", deadline - time.monotonic())


def test_stop_reports_not_serving_then_lets_the_call_in_flight_finish(
    held: tuple[RunningServer, HeldQueries],
) -> None:
    running, queries = held
    token = issue_token(AuthSettings(), "alice")
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        in_flight = stub.GetMedia.future(
            pb.GetMediaRequest(media_id="m-1"), metadata=[("authorization", f"Bearer {token}")]
        )
        assert queries.entered.wait(10)
        assert health_status(channel) == health_pb2.HealthCheckResponse.SERVING

        started = time.monotonic()
        stopper = threading.Thread(target=running.stop, kwargs={"grace": 10, "drain": 0.5})
        stopper.start()
        eventually(
            lambda: health_status(channel) == health_pb2.HealthCheckResponse.NOT_SERVING,
            "health to turn NOT_SERVING",
            5,
        )
        # Past the drain the server refuses new calls, while the old one is still held.
        refused = refusal(channel, deadline=time.monotonic() + 10)
        assert refused is grpc.StatusCode.UNAVAILABLE, refused
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as fresh:
            assert refusal(fresh, deadline=time.monotonic() + 10) is grpc.StatusCode.UNAVAILABLE
        assert stopper.is_alive() and not in_flight.done()
        queries.release.set()

        answer = in_flight.result(timeout=10)
        stopper.join(10)

    assert answer.media.id == "m-1"
    assert not stopper.is_alive()
    assert time.monotonic() - started < 10  # the grace period was not needed in full
