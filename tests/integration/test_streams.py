"""Streams live on the event loop: many more open streams than RPC threads leave unary calls
answering, and the caps refuse the next stream with RESOURCE_EXHAUSTED and RetryInfo."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import event

from media_grpc.api.server import RunningServer, create_server
from media_grpc.bootstrap import Application
from media_grpc.config.streams import StreamSettings
from tests.integration.servers import serving
from tests.integration.uploading import create_session, rpc_error

Auth = Callable[..., list[tuple[str, str]]]
RPC_THREADS = 2
PER_PRINCIPAL = 4


@dataclass
class OpenStreams:
    """Streams held open by the test; ``close()`` cancels them all."""

    calls: list[Any] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def hold(self, call: Any) -> Any:
        self.calls.append(call)
        return next(call)  # the first message: the stream is open on the server

    def close(self) -> None:
        self.release.set()
        for call in self.calls:
            call.cancel()


@pytest.fixture
def small_server(app: Application) -> Iterator[RunningServer]:
    """Two RPC threads; a user may watch four media at once."""
    servicer = app.servicer()
    servicer.watching.max_per_principal = PER_PRINCIPAL
    servicer.watching.retry_after_seconds = 3
    running = create_server(servicer, app.verifier, "127.0.0.1:0", max_workers=RPC_THREADS)
    yield running
    running.stop(0)


def retry_delay(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status details"
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    raise AssertionError("no RetryInfo in the status details")


def refused_watch(
    stub: media_pb2_grpc.MediaServiceStub, metadata: list[tuple[str, str]], media_id: str
) -> grpc.RpcError:
    """The error of one more WatchMedia of ``media_id``, which the test expects refused."""
    return rpc_error(
        lambda: next(
            stub.WatchMedia(pb.WatchMediaRequest(media_id=media_id), metadata=metadata, timeout=10)
        )
    )


def reflection_requests(
    release: threading.Event,
) -> Iterator[reflection_pb2.ServerReflectionRequest]:
    yield reflection_pb2.ServerReflectionRequest(list_services="")
    release.wait(60)


def test_more_open_streams_than_rpc_threads_leave_unary_calls_answering(
    app: Application, small_server: RunningServer, auth: Auth, unique_user: str
) -> None:
    streams = OpenStreams()
    with grpc.insecure_channel(f"127.0.0.1:{small_server.port}") as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        media_id = create_session(stub, auth, unique_user, b"x" * 100).media_id
        try:
            for _ in range(4 * RPC_THREADS):
                first = streams.hold(health.Watch(health_pb2.HealthCheckRequest(), timeout=60))
                assert first.status == health_pb2.HealthCheckResponse.SERVING
                streams.hold(reflection.ServerReflectionInfo(reflection_requests(streams.release)))
            for _ in range(PER_PRINCIPAL):
                watch = stub.WatchMedia(
                    pb.WatchMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=60
                )
                assert streams.hold(watch).media.status == pb.STATUS_PENDING

            check = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            got = stub.GetMedia(
                pb.GetMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=5
            )
            refused = refused_watch(stub, auth(unique_user), media_id)
        finally:
            streams.close()

    assert check.status == health_pb2.HealthCheckResponse.SERVING
    assert got.media.id == media_id
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert retry_delay(refused) == 3


def test_the_server_wide_stream_cap_refuses_the_next_stream_with_retry_info(
    app: Application, auth: Auth, unique_user: str
) -> None:
    streams = OpenStreams()
    with serving(app, streams=StreamSettings(max_open=3, public_max_open=1)) as running:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = media_pb2_grpc.MediaServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)
                media_id = create_session(stub, auth, unique_user, b"x" * 100).media_id
                streams.hold(health.Watch(health_pb2.HealthCheckRequest(), timeout=60))
                for _ in range(2):
                    streams.hold(
                        stub.WatchMedia(
                            pb.WatchMediaRequest(media_id=media_id),
                            metadata=auth(unique_user),
                            timeout=60,
                        )
                    )
                refused = refused_watch(stub, auth(unique_user), media_id)
                still = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        finally:
            streams.close()

    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "already holds 3 open streams" in str(refused.details())
    assert retry_delay(refused) > 0
    assert still.status == health_pb2.HealthCheckResponse.SERVING


BURST = 2_000


async def first_messages_of_a_burst(port: int, streams: int, seconds: float) -> int:
    """Open ``streams`` health Watch streams at once (four connections); how many answered."""
    channels = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(4)
    ]
    answered = 0
    all_answered = asyncio.Event()

    async def follow(i: int) -> None:
        nonlocal answered
        call = health_pb2_grpc.HealthStub(channels[i % 4]).Watch(health_pb2.HealthCheckRequest())
        async for _message in call:
            answered += 1
            if answered == streams:
                all_answered.set()
            return

    tasks = [asyncio.create_task(follow(i)) for i in range(streams)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_answered.wait(), seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()
    return answered


def test_a_burst_of_two_thousand_new_streams_all_open(app: Application) -> None:
    # grpc core alone would refuse part of a burst past 1,000 calls not yet taken up. The
    # budget of streams without a token is raised to let the whole burst in.
    wide = StreamSettings(public_max_open=BURST, public_per_peer=BURST, public_per_connection=BURST)
    with serving(app, streams=wide) as running:
        answered = asyncio.run(first_messages_of_a_burst(running.port, BURST, seconds=30))
    assert answered == BURST


def test_reflection_can_be_switched_off(app: Application) -> None:
    with (
        serving(app, reflection_enabled=False) as running,
        grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel,
    ):
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            next(
                reflection.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
            )
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_status_change_costs_the_same_database_reads_for_twenty_watchers_as_for_one(
    app: Application, server: RunningServer, auth: Auth, stub: media_pb2_grpc.MediaServiceStub
) -> None:
    media_reads = [0]
    watched: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        # Only reads of the watched media: the app's background loops read other rows.
        is_read = statement.lstrip().upper().startswith("SELECT") and " media" in statement
        if is_read and watched and watched[-1] in str(parameters):
            media_reads[0] += 1

    def reads_until_every_watcher_sees_ready(watchers: int) -> int:
        user = f"watch-reads-{watchers}"
        media_id = create_session(stub, auth, user, b"x" * 100).media_id
        watched.append(media_id)
        calls = [
            stub.WatchMedia(
                pb.WatchMediaRequest(media_id=media_id), metadata=auth(user), timeout=30
            )
            for _ in range(watchers)
        ]
        for call in calls:
            assert next(call).media.status == pb.STATUS_PENDING
        before = media_reads[0]
        stub.AbortUpload(pb.AbortUploadRequest(media_id=media_id), metadata=auth(user))
        for call in calls:
            assert next(call).media.status != pb.STATUS_PENDING
        return media_reads[0] - before

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        one = reads_until_every_watcher_sees_ready(1)
        twenty = reads_until_every_watcher_sees_ready(20)
    finally:
        event.remove(app.engine, "before_cursor_execute", count)

    assert one > 0, "no read of media was counted"
    # The session's own creation is announced too, and its NOTIFY may reach the feed after the
    # watchers' first messages: one read more in either run, never one per watcher.
    assert twenty <= one + 1, f"{twenty} reads of media for 20 watchers, {one} for one"


def test_watch_without_a_token_is_unauthenticated_on_the_event_loop(
    stub: media_pb2_grpc.MediaServiceStub,
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        next(stub.WatchMedia(pb.WatchMediaRequest(media_id="any"), timeout=10))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_streams_end_with_ok_after_their_longest_life_or_when_idle(
    app: Application, auth: Auth, unique_user: str
) -> None:
    with (
        serving(app, streams=StreamSettings(max_seconds=0.5, idle_seconds=0.3)) as running,
        grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel,
    ):
        stub = media_pb2_grpc.MediaServiceStub(channel)
        media_id = create_session(stub, auth, unique_user, b"x" * 100).media_id
        health = list(
            health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=30)
        )
        watched = list(
            stub.WatchMedia(
                pb.WatchMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=30
            )
        )

    assert [m.status for m in health] == [health_pb2.HealthCheckResponse.SERVING]
    assert [m.media.status for m in watched] == [pb.STATUS_PENDING]
