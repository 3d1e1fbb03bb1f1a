"""Open streams against one `media-grpc serve` process (PostgreSQL, the strict S3).

2,000 open WatchMedia streams: GetMedia p99 against its idle p99, the delay from a READY
commit to every watcher, and database transactions/s and table scans/s with 2,000 against 10
watchers. Then 1,000 open health Watch streams: Health/Check and GetMedia p99 against idle.

Quick mode for a smoke run: ``MEDIA_BENCH_WATCHERS=20 MEDIA_BENCH_HEALTH_WATCHERS=10
MEDIA_BENCH_SECONDS=1 MEDIA_BENCH_GRPC_MAX_WORKERS=4 .venv/bin/python -m bench streams``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import create_engine, text

from bench.load import Result, background_load, drive, percentile
from bench.stack import Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.bootstrap import build_application
from media_grpc.config import Settings
from media_grpc.config.auth import AuthSettings
from media_grpc.domain.model import Status

#: WatchMedia streams held open (MEDIA_BENCH_WATCHERS).
WATCHERS = int(os.environ.get("MEDIA_BENCH_WATCHERS", "2000"))
#: Health Watch streams held open (MEDIA_BENCH_HEALTH_WATCHERS).
HEALTH_WATCHERS = int(os.environ.get("MEDIA_BENCH_HEALTH_WATCHERS", "1000"))
#: Seconds each latency or database measurement runs (MEDIA_BENCH_SECONDS).
SECONDS = float(os.environ.get("MEDIA_BENCH_SECONDS", "3"))
FEW_WATCHERS = 10
#: Seconds of a database window: the background (outbox relay polls, about 5 transactions/s)
#: has blips of a few transactions, which a short window turns into a ratio off by 15%.
DB_SECONDS = max(20.0, 2 * SECONDS)
#: PostgreSQL (15+) reports an idle backend's transactions up to 10 s late (PGSTAT_IDLE_INTERVAL
#: in pgstat.c), and per-second samples showed late reports until about 18 s after the streams
#: opened: the wait before a database window, so that the transactions of the phase before
#: (latency calls, the streams' first reads) are counted before the window, not in it.
STATS_DELAY_SECONDS = 20.0
#: Seconds between opening (or cancelling) streams and measuring: the server finishes the
#: opening and the previous phase's cancellations, so what is measured is the steady state.
SETTLE_SECONDS = 2.0
CALLERS = 16
#: Streams per client channel (one HTTP/2 connection each).
STREAMS_PER_CHANNEL = 500
USERS = 100
SERVER_ENV = {
    "MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND": "100000",
    "MEDIA_LIMITS__UPLOAD_SESSION_BURST": "100000",
    "MEDIA_LIMITS__MAX_PENDING_SESSIONS": "0",
    "MEDIA_STREAMS__WATCH_PER_PRINCIPAL": "100000",
    "MEDIA_STREAMS__MAX_OPEN": "100000",
    # All health watchers come from this one address, STREAMS_PER_CHANNEL to a connection.
    "MEDIA_STREAMS__PUBLIC_MAX_OPEN": "10000",
    "MEDIA_STREAMS__PUBLIC_PER_PEER": "10000",
    "MEDIA_STREAMS__PUBLIC_PER_CONNECTION": "10000",
    "MEDIA_METRICS_PORT": "0",
    # A smaller pool for smoke runs on a shared database server (MEDIA_BENCH_GRPC_MAX_WORKERS).
    **(
        {"MEDIA_GRPC_MAX_WORKERS": os.environ["MEDIA_BENCH_GRPC_MAX_WORKERS"]}
        if "MEDIA_BENCH_GRPC_MAX_WORKERS" in os.environ
        else {}
    ),
}

Metadata = tuple[tuple[str, str], ...]


class Channels:
    """Enough channels to the server for ``streams`` open streams, plus one for calls."""

    def __init__(self, target: str, streams: int) -> None:
        self.calls = grpc.aio.insecure_channel(target)
        self.streaming = [
            grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(max(1, -(-streams // STREAMS_PER_CHANNEL)))
        ]

    def for_stream(self, i: int) -> grpc.aio.Channel:
        return self.streaming[i % len(self.streaming)]

    async def close(self) -> None:
        for channel in (self.calls, *self.streaming):
            await channel.close()


def database_counters(database_url: str) -> tuple[int, int]:
    """(transactions, table scans) of the database so far. Every query is in a transaction,
    and so is the work of any other session of the database (autovacuum's); table scans count
    only the queries that read the service's tables."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        transactions = conn.execute(
            text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
        ).scalar_one()
        scans = conn.execute(
            text(
                "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) "
                "FROM pg_stat_user_tables"
            )
        ).scalar_one()
    engine.dispose()
    return int(transactions), int(scans)


async def database_rates(database_url: str, seconds: float) -> tuple[float, float]:
    """The database's (transactions/s, table scans/s) over ``seconds`` of steady state, after
    ``STATS_DELAY_SECONDS`` (in steady state the late reports shift both ends alike)."""
    await asyncio.sleep(STATS_DELAY_SECONDS)
    before = await asyncio.to_thread(database_counters, database_url)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(database_counters, database_url)
    return (
        (after[0] - before[0] - 2) / seconds,  # minus the two reads of the counters
        (after[1] - before[1]) / seconds,
    )


async def p99s(
    channels: Channels, auth: list[Metadata], media_ids: list[str]
) -> tuple[float, float]:
    """(GetMedia p99, Health/Check p99) in ms at CALLERS concurrent callers."""
    media = media_pb2_grpc.MediaServiceStub(channels.calls)
    health = health_pb2_grpc.HealthStub(channels.calls)

    async def get(i: int) -> object:
        n = i % len(media_ids)
        return await media.GetMedia(
            pb.GetMediaRequest(media_id=media_ids[n]), metadata=auth[n % len(auth)], timeout=30
        )

    async def check(_i: int) -> object:
        return await health.Check(health_pb2.HealthCheckRequest(), timeout=30)

    got: Result = await drive(get, CALLERS, SECONDS)
    checked: Result = await drive(check, CALLERS, SECONDS)
    if got.errors or checked.errors:
        raise RuntimeError(f"calls failed: {got.first_error or checked.first_error}")
    return got.percentile(99), checked.percentile(99)


async def open_streams(
    count: int, start: Callable[[int], AsyncIterator[object]]
) -> tuple[list[asyncio.Task[None]], dict[int, list[tuple[float, object]]]]:
    """``count`` streams, each read by a task recording (arrival time, message); returns
    ``SETTLE_SECONDS`` after every stream has delivered its first message."""
    received: dict[int, list[tuple[float, object]]] = {i: [] for i in range(count)}
    first = [asyncio.Event() for _ in range(count)]

    async def follow(i: int) -> None:
        try:
            async for message in start(i):
                received[i].append((time.time(), message))
                first[i].set()
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                raise

    tasks = [asyncio.create_task(follow(i)) for i in range(count)]
    waiting = asyncio.ensure_future(asyncio.gather(*(event.wait() for event in first)))
    deadline = time.monotonic() + 300
    while not waiting.done():
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed or time.monotonic() > deadline:
            waiting.cancel()
            await cancel(tasks)
            opened = sum(event.is_set() for event in first)
            raise RuntimeError(
                f"streams did not open ({opened}/{count} sent their first message): "
                f"{failed[0].exception() if failed else 'timeout'}"
            )
        await asyncio.wait([waiting], timeout=0.1)
    await asyncio.sleep(SETTLE_SECONDS)
    return tasks, received


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def commit_ready(database_url: str, media_ids: list[str]) -> dict[str, float]:
    """Make each media READY in a transaction of its own, as a worker would; commit times."""
    app = build_application(Settings(database_url=database_url), migrate=False)
    committed: dict[str, float] = {}
    try:
        for media_id in media_ids:
            with app.ctx.uow() as uow:
                media = uow.media.get(media_id, for_update=True)
                assert media is not None
                media.status = Status.READY
                media.updated_at = app.ctx.now()
                uow.media.save(media)
                uow.commit()
            committed[media_id] = time.time()
    finally:
        app.close()
    return committed


async def measure(running: Stack) -> str:
    target = f"127.0.0.1:{running.ports[0]}"
    settings = AuthSettings()
    auth: list[Metadata] = [
        (("authorization", f"Bearer {issue_token(settings, f'watcher-{n}')}"),)
        for n in range(USERS)
    ]
    channels = Channels(target, max(WATCHERS, HEALTH_WATCHERS))
    media = media_pb2_grpc.MediaServiceStub(channels.calls)
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_IMAGE, file_name="w.png", content_type="image/png", size_bytes=1
    )
    gate = asyncio.Semaphore(32)

    async def create(i: int) -> str:
        async with gate:
            answer = await media.CreateUploadSession(request, metadata=auth[i % USERS], timeout=30)
            return str(answer.media_id)

    try:
        media_ids = list(await asyncio.gather(*(create(i) for i in range(WATCHERS))))
        await drive(
            lambda _i: media.GetMedia(
                pb.GetMediaRequest(media_id=media_ids[0]), metadata=auth[0], timeout=30
            ),
            4,
            0.5,
        )  # warm-up

        def watch(i: int) -> AsyncIterator[object]:
            stub = media_pb2_grpc.MediaServiceStub(channels.for_stream(i))
            return stub.WatchMedia(  # type: ignore[no-any-return]
                pb.WatchMediaRequest(media_id=media_ids[i]), metadata=auth[i % USERS]
            )

        few, _ = await open_streams(min(FEW_WATCHERS, WATCHERS), watch)
        few_rate, few_scans = await database_rates(running.database_url, DB_SECONDS)
        await cancel(few)
        await asyncio.sleep(SETTLE_SECONDS)
        # Each reference is measured next to its figure: a neighbour's load shifts both alike.
        idle_get, _ = await p99s(channels, auth, media_ids)

        watchers, received = await open_streams(WATCHERS, watch)
        many_rate, many_scans = await database_rates(running.database_url, DB_SECONDS)
        watched_get, _ = await p99s(channels, auth, media_ids)
        committed = await asyncio.to_thread(commit_ready, running.database_url, media_ids)
        deadline = time.monotonic() + 30
        while any(len(received[i]) < 2 for i in range(WATCHERS)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        delays = [
            (received[i][1][0] - committed[media_ids[i]]) * 1000
            for i in range(WATCHERS)
            if len(received[i]) >= 2
        ]
        reached = len(delays)
        await cancel(watchers)
        await asyncio.sleep(SETTLE_SECONDS)
        # The media are READY now, and GetMedia of a READY media is the call measured next.
        idle_ready_get, idle_check = await p99s(channels, auth, media_ids)

        def health_watch(i: int) -> AsyncIterator[object]:
            stub = health_pb2_grpc.HealthStub(channels.for_stream(i))
            return stub.Watch(health_pb2.HealthCheckRequest())  # type: ignore[no-any-return]

        health_streams, _ = await open_streams(HEALTH_WATCHERS, health_watch)
        health_get, health_check = await p99s(channels, auth, media_ids)
        await cancel(health_streams)
    finally:
        await channels.close()

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    return (
        f"| measurement | idle | with open streams | ratio (target) |\n"
        f"|---|---|---|---|\n"
        f"| GetMedia p99, {WATCHERS:,} WatchMedia open | {idle_get:.1f} ms | "
        f"{watched_get:.1f} ms | {ratio(watched_get, idle_get)} (<= 2x) |\n"
        f"| READY commit to watcher, p99 over {WATCHERS:,} watchers | | "
        f"{percentile(delays, 99):.0f} ms ({reached}/{WATCHERS} reached) | (<= 1,000 ms) |\n"
        f"| database transactions/s, {FEW_WATCHERS} vs {WATCHERS:,} watchers | "
        f"{few_rate:.1f}/s | {many_rate:.1f}/s | {ratio(many_rate, few_rate)} (<= 1x) |\n"
        f"| database table scans/s (queries), {FEW_WATCHERS} vs {WATCHERS:,} watchers | "
        f"{few_scans:.1f}/s | {many_scans:.1f}/s | {ratio(many_scans, few_scans)} (<= 1x) |\n"
        f"| Health/Check p99, {HEALTH_WATCHERS:,} health Watch open | {idle_check:.1f} ms | "
        f"{health_check:.1f} ms | {ratio(health_check, idle_check)} (<= 2x) |\n"
        f"| GetMedia p99 (READY media), {HEALTH_WATCHERS:,} health Watch open | "
        f"{idle_ready_get:.1f} ms | {health_get:.1f} ms | {ratio(health_get, idle_ready_get)} "
        "(<= 2x) |\n"
    )


def run() -> str:
    note = background_load()
    with stack(servers=0) as running:
        running.add_server(SERVER_ENV)
        table = asyncio.run(measure(running))
    return (
        f"{note}\n\n"
        f"One `media-grpc serve` process (default `MEDIA_GRPC_MAX_WORKERS`), {CALLERS} callers "
        f"for {SECONDS:g} s per latency figure, from one grpc.aio client process. Database "
        "transactions/s count every transaction of the benchmark's database while the streams "
        "are open and nothing changes. That includes the server's outbox relay and cleanup, "
        "and any other session's, such as autovacuum's (blips of a few transactions without a "
        f"table scan come at random seconds). They are counted over {DB_SECONDS:g} s from "
        f"{STATS_DELAY_SECONDS:g} s after the streams opened (PostgreSQL reports an idle "
        "connection's transactions up to 10 s late). Table scans/s count the queries that "
        "read the service's tables. A watcher costs no query after its first read, and first "
        "reads are batched. Each idle reference is measured just before its streams open "
        "(GetMedia of the READY media for the health row).\n\n"
        f"{table}"
    )
