"""Strangers cannot fill the stream budget: unauthenticated streams (health Watch, reflection)
stop at their own caps (connection, peer address, server) while a user's WatchMedia, unary
calls and health Check keep working; HTTP/2 bounds each connection."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.api.server import RunningServer, create_server
from media_grpc.bootstrap import Application
from media_grpc.config.streams import StreamSettings
from tests.integration.servers import serving
from tests.integration.uploading import create_session
from tests.waiting import eventually

Auth = Callable[..., list[tuple[str, str]]]

CAPS = StreamSettings(max_open=16, public_max_open=8, public_per_peer=6, public_per_connection=3)


def own_connection(target: str, **options: int) -> grpc.Channel:
    """A channel with a TCP connection of its own (channels otherwise share subchannels)."""
    return grpc.insecure_channel(
        target, options=[("grpc.use_local_subchannel_pool", 1), *options.items()]
    )


def pinging(target: str, every_ms: int) -> grpc.Channel:
    """A connection of its own that pings every ``every_ms`` milliseconds, calls or not."""
    return own_connection(
        target,
        **{
            "grpc.keepalive_time_ms": every_ms,
            "grpc.keepalive_permit_without_calls": 1,
            "grpc.http2.max_pings_without_data": 0,
        },
    )


def health_watch(channel: grpc.Channel, timeout: float) -> Any:
    """A health Watch without a token: a stream the public budgets count."""
    return health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(), timeout=timeout
    )


@pytest.fixture
def capped_server(app: Application) -> Iterator[RunningServer]:
    """Listening on 127.0.0.1 and ::1: two peer addresses for one test."""
    running = create_server(app.servicer(), app.verifier, "localhost:0", streams=CAPS)
    yield running
    running.stop(0)


def refusal_of(call: grpc.Call) -> str:
    """'' when the stream opened (its first message came), else the refusal's details."""
    try:
        next(call)  # type: ignore[call-overload]
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
        return str(e.details())
    return ""


def which_cap(details: str) -> str:
    for words, cap in (
        ("this connection", "connection"),
        ("your address", "peer"),
        ("without a token (a token", "public"),
    ):
        if words in details:
            return cap
    raise AssertionError(f"unexpected refusal {details!r}")


def test_a_flood_of_unauthenticated_streams_past_every_cap_leaves_a_users_calls_working(
    capped_server: RunningServer, auth: Auth, unique_user: str
) -> None:
    port = capped_server.port
    channels = [own_connection(f"ipv4:127.0.0.1:{port}") for _ in range(4)]
    channels += [own_connection(f"ipv6:[::1]:{port}") for _ in range(4)]
    calls: list[grpc.Call] = []
    refused: Counter[str] = Counter()
    try:
        for channel in channels:
            for _ in range(4):
                call = health_watch(channel, timeout=60)
                calls.append(call)
                details = refusal_of(call)
                if details:
                    refused[which_cap(details)] += 1
        user = own_connection(f"127.0.0.1:{port}")
        stub = media_pb2_grpc.MediaServiceStub(user)
        media_id = create_session(stub, auth, unique_user, b"x" * 100).media_id
        watches = [
            stub.WatchMedia(
                pb.WatchMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=60
            )
            for _ in range(CAPS.authenticated_reserve)
        ]
        calls.extend(watches)
        first = [next(w).media.status for w in watches]  # type: ignore[call-overload]
        got = stub.GetMedia(
            pb.GetMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=5
        )
        check = health_pb2_grpc.HealthStub(user).Check(health_pb2.HealthCheckRequest(), timeout=5)
        channels.append(user)
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            channel.close()

    opened = 32 - sum(refused.values())
    assert opened == CAPS.public_max_open
    assert set(refused) == {"connection", "peer", "public"}, refused
    assert first == [pb.STATUS_PENDING] * CAPS.authenticated_reserve
    assert got.media.id == media_id
    assert check.status == health_pb2.HealthCheckResponse.SERVING


def test_an_unauthenticated_stream_that_sends_nothing_ends_at_its_idle_limit(
    app: Application,
) -> None:
    with (
        serving(app, streams=StreamSettings(public_idle_seconds=0.3)) as running,
        grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel,
    ):
        call = health_watch(channel, timeout=30)
        messages = [m.status for m in call]
        code = call.code()  # type: ignore[attr-defined]
    assert messages == [health_pb2.HealthCheckResponse.SERVING]
    assert code == grpc.StatusCode.OK


def test_a_connection_holds_at_most_its_http2_concurrent_streams(app: Application) -> None:
    with serving(app, streams=StreamSettings(max_concurrent_streams_per_connection=2)) as running:
        target = f"127.0.0.1:{running.port}"
        with own_connection(target) as full, own_connection(target) as other:
            health = health_pb2_grpc.HealthStub(full)
            held = [health.Watch(health_pb2.HealthCheckRequest(), timeout=30) for _ in range(2)]
            for call in held:
                next(call)  # type: ignore[call-overload]
            with pytest.raises(grpc.RpcError) as queued:
                health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            elsewhere = health_pb2_grpc.HealthStub(other).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            for call in held:
                call.cancel()
    assert queued.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elsewhere.status == health_pb2.HealthCheckResponse.SERVING


def test_a_connection_without_calls_is_closed_after_the_idle_limit(app: Application) -> None:
    with serving(app, streams=StreamSettings(max_connection_idle_seconds=0.5)) as running:
        states: list[grpc.ChannelConnectivity] = []
        with own_connection(f"127.0.0.1:{running.port}") as channel:
            channel.subscribe(states.append)
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            eventually(
                lambda: (
                    grpc.ChannelConnectivity.IDLE
                    in states[states.index(grpc.ChannelConnectivity.READY) :]
                ),
                lambda: f"the server to close the idle connection (states {states})",
            )


def watched_while_pinging(
    app: Application, streams: StreamSettings, every_ms: int
) -> tuple[list[int], grpc.StatusCode]:
    """A health Watch on a server with ``streams``, from a client pinging every ``every_ms``
    milliseconds: the statuses it got and the code it ended with."""
    with (
        serving(app, streams=streams) as running,
        pinging(f"127.0.0.1:{running.port}", every_ms=every_ms) as channel,
    ):
        call = health_watch(channel, timeout=30)
        messages: list[int] = []
        try:
            for message in call:
                messages.append(message.status)
        except grpc.RpcError as ended:
            return messages, ended.code()
        return messages, call.code()


def test_a_client_pinging_faster_than_allowed_is_sent_away(app: Application) -> None:
    strict = StreamSettings(min_client_ping_interval_seconds=10, max_ping_strikes=1)

    _, code = watched_while_pinging(app, strict, every_ms=100)

    assert code == grpc.StatusCode.UNAVAILABLE


def test_a_client_pinging_at_the_allowed_interval_keeps_its_stream(app: Application) -> None:
    # grpc's default (one ping per 5 minutes without data) would send this client away.
    allowed = StreamSettings(min_client_ping_interval_seconds=0.5, public_idle_seconds=4)

    messages, code = watched_while_pinging(app, allowed, every_ms=1000)

    assert code == grpc.StatusCode.OK  # ended at the idle limit, 4 s
    assert messages == [health_pb2.HealthCheckResponse.SERVING]


#: A client that opens one health Watch, says so, then waits on it.
WATCHING_CLIENT = """
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
next(call)
print("open", flush=True)
for _ in call:
    pass
"""


def admitted(target: str) -> bool:
    """Whether one more stream without a token opens now (on a connection of its own)."""
    with own_connection(target) as channel:
        call = health_watch(channel, timeout=10)
        opened = refusal_of(call) == ""
        call.cancel()
        return opened


def test_a_peer_that_stops_answering_pings_loses_its_connection_and_its_streams(
    app: Application,
) -> None:
    streams = StreamSettings(
        public_per_peer=1, keepalive_seconds=0.5, keepalive_timeout_seconds=0.5
    )
    with serving(app, streams=streams) as running:
        target = f"127.0.0.1:{running.port}"
        client = subprocess.Popen(
            [sys.executable, "-c", WATCHING_CLIENT, target], stdout=subprocess.PIPE, text=True
        )
        try:
            assert client.stdout is not None and client.stdout.readline().strip() == "open"
            full = not admitted(target)  # the peer's one stream is taken
            client.send_signal(signal.SIGSTOP)  # alive, silent: answers no ping
            eventually(lambda: admitted(target), "the frozen peer's stream to be freed", timeout=20)
        finally:
            client.kill()
            client.wait(10)
    assert full
