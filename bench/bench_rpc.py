"""CreateUploadSession and CompleteUpload over a real channel against PostgreSQL and the
strict S3 (Ceph's RADOS Gateway).

`media-grpc serve` with one server process, then with `MEDIA_GRPC_PROCESSES=2` (two server
processes sharing one port); 1, 16 and 64 concurrent callers from one grpc.aio process. The
reference is the gRPC health Check RPC through the same channel and server(s) in the same
run: the floor of the framework on this machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import create_engine, text

from bench import profiling, rpc_parts
from bench.load import Call, Result, background_load, drive
from bench.rpc_account import per_call_account
from bench.stack import Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings

#: Seconds each measurement runs (MEDIA_BENCH_SECONDS).
SECONDS = float(os.environ.get("MEDIA_BENCH_SECONDS", "3"))
PROFILE_SECONDS = max(SECONDS, 10.0)
CONCURRENCY = (1, 16, 64)
#: Server processes of each setting measured (MEDIA_GRPC_PROCESSES).
PROCESS_SETTINGS = (1, 2)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 248
#: Issue 13's targets, at TARGET_CALLERS callers: CreateUploadSession rate, p99 and share of
#: Health/Check; CompleteUpload (small object) rate.
TARGET_CALLERS = 16
TARGET_RATE, TARGET_P99_MS, TARGET_SHARE = 1000, 25.0, 0.15
TARGET_COMPLETE_RATE = 300
#: Distinct owners the calls rotate over, so that the default per-owner limits (1 session/s
#: with a burst of 20, 50 PENDING) hold as they would with many real users.
USERS = 10_000

Metadata = tuple[tuple[str, str], ...]


class Client:
    """Stubs over one channel to every server, round robin, and a token per user."""

    def __init__(self, channel: grpc.aio.Channel, users: int = USERS) -> None:
        self.media = media_pb2_grpc.MediaServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
        settings = AuthSettings()
        self.auth: list[Metadata] = [
            (("authorization", f"Bearer {issue_token(settings, f'bench-{n}')}"),)
            for n in range(users)
        ]
        self.request = pb.CreateUploadSessionRequest(
            purpose=pb.PURPOSE_POST_IMAGE,
            file_name="bench.png",
            content_type="image/png",
            size_bytes=len(PNG),
        )

    async def check(self, _i: int) -> object:
        return await self.health.Check(health_pb2.HealthCheckRequest(), timeout=30)

    async def create(self, i: int) -> pb.CreateUploadSessionResponse:
        answer: pb.CreateUploadSessionResponse = await self.media.CreateUploadSession(
            self.request, metadata=self.auth[i % len(self.auth)], timeout=30
        )
        return answer

    def completer(self, prepared: list[tuple[int, str]]) -> Call:
        async def complete(i: int) -> object:
            user, media_id = prepared[i]
            return await self.media.CompleteUpload(
                pb.CompleteUploadRequest(media_id=media_id), metadata=self.auth[user], timeout=30
            )

        return complete

    async def prepare(self, count: int) -> list[tuple[int, str]]:
        """``count`` sessions whose bytes are uploaded, ready to complete."""
        gate = asyncio.Semaphore(64)

        async def create(i: int) -> pb.CreateUploadSessionResponse:
            async with gate:
                return await self.create(i)

        sessions = await asyncio.gather(*(create(i) for i in range(count)))
        with ThreadPoolExecutor(16) as pool, requests.Session() as http:

            def put(session: pb.CreateUploadSessionResponse) -> None:
                http.put(
                    session.single_put.url,
                    data=PNG,
                    headers=dict(session.single_put.headers),
                    timeout=30,
                ).raise_for_status()

            await asyncio.get_running_loop().run_in_executor(
                None, lambda: list(pool.map(put, sessions))
            )
        return [(i % len(self.auth), s.media_id) for i, s in enumerate(sessions)]


def backend_pids(database_url: str) -> list[int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = [int(p) for p in pids]
    engine.dispose()
    return found


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (the spawned server processes of one serve)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def watched(running: Stack, server: subprocess.Popen[bytes]) -> dict[str, list[int]]:
    return {
        "server": descendants(server.pid),
        "postgres": backend_pids(running.database_url),
        "S3": list(running.s3.pids),
    }


#: (server processes, RPC, callers, result)
Row = tuple[int, str, int, Result]


async def measure(
    running: Stack, server: subprocess.Popen[bytes], port: int, processes: int, rows: list[Row]
) -> None:
    """Every RPC at every concurrency against one `media-grpc serve` of ``processes``."""
    # One channel makes one connection, which stays with one process: with more processes
    # the callers spread over as many channels (the kernel picks a process per connection).
    channels = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(max(1, processes * 4 if processes > 1 else 1))
    ]
    try:
        clients = [Client(channel) for channel in channels]
        client = Fanned(clients)
        await drive(client.check, 16, 0.5)
        await drive(client.create, 16, 1.0)
        watch = watched(running, server)
        split = server.pid if processes == 1 else None
        for callers in CONCURRENCY if processes == 1 else CONCURRENCY[1:]:
            for name, call in (("Health.Check", client.check), ("Create", client.create)):
                result = await drive(call, callers, SECONDS, watch=watch, threads_of=split)
                rows.append((processes, name, callers, result))
            prepared = await clients[0].prepare(1500 if callers > 1 else 600)
            result = await drive(
                client.completer(prepared),
                callers,
                SECONDS,
                limit=len(prepared),
                watch=watch,
                threads_of=split,
            )
            rows.append((processes, "Complete", callers, result))
    finally:
        for channel in channels:
            await channel.close()


class Fanned:
    """Calls spread over several clients (channels), call ``i`` on client ``i % n``."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients

    def _client(self, i: int) -> Client:
        return self.clients[i % len(self.clients)]

    async def check(self, i: int) -> object:
        return await self._client(i).check(i)

    async def create(self, i: int) -> object:
        return await self._client(i).create(i)

    def completer(self, prepared: list[tuple[int, str]]) -> Call:
        completers = [c.completer(prepared) for c in self.clients]

        async def complete(i: int) -> object:
            return await completers[i % len(completers)](i)

        return complete


async def profile(port: int, pid: int, name: str) -> tuple[str, dict[str, float]]:
    """py-spy on one server process while TARGET_CALLERS callers run ``name``: a summary
    table, and each component's share of the samples (for rpc_account.py)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        client = Client(channel)
        call: Callable[[int], Awaitable[object]] = client.create
        limit = None
        if name == "Complete":
            prepared = await client.prepare(2000)
            call, limit = client.completer(prepared), len(prepared)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "profile.txt"
            sampler = profiling.record(pid, PROFILE_SECONDS, raw)
            await asyncio.sleep(0.3)
            await drive(call, TARGET_CALLERS, PROFILE_SECONDS, limit=limit)
            sampler.wait(timeout=60)
            if not raw.exists():
                return "_py-spy could not attach (it needs ptrace rights)._", {}
            return profiling.summarise(raw), profiling.category_shares(raw)


def account(rows: list[Row], name: str, shares: dict[str, float]) -> str:
    """The CPU account of one call of ``name``: the CPU per call of its timed run at
    TARGET_CALLERS callers and one server process (no profiler attached), the server's split
    by the profiled run's shares."""
    timed = _at(rows, 1, name, TARGET_CALLERS)
    if timed is None:
        return ""
    target = TARGET_COMPLETE_RATE if name == "Complete" else TARGET_RATE
    loop = _loop_thread(rows)
    spent = sum(timed.thread_cpu.values())
    loop_share = timed.thread_cpu.get(loop, 0.0) / spent if loop is not None and spent else None
    return per_call_account(timed, shares, os.cpu_count() or 1, RPC_NAMES[name], target, loop_share)


def _loop_thread(rows: list[Row]) -> int | None:
    """The server's event loop thread: its busiest under Health.Check, whose handler runs on
    the loop (one server process, TARGET_CALLERS callers)."""
    check = _at(rows, 1, "Health.Check", TARGET_CALLERS)
    if check is None or not check.thread_cpu:
        return None
    return max(check.thread_cpu, key=lambda tid: check.thread_cpu[tid])


RPC_NAMES = {
    "Health.Check": "Health.Check",
    "Create": "CreateUploadSession",
    "Complete": "CompleteUpload",
}


def table(rows: list[Row]) -> str:
    floor = {(s, c): r.rate for s, n, c, r in rows if n == "Health.Check"}
    lines = [
        "| server processes | RPC | callers | calls/s | p50 ms | p99 ms | errors "
        "| x Health.Check | client CPU | server CPU | postgres CPU | S3 CPU | machine busy |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for servers, name, callers, r in rows:
        cpu = r.process_cpu
        lines.append(
            f"| {servers} | {RPC_NAMES[name]} | {callers} | {r.rate:,.0f} | "
            f"{r.percentile(50):.1f} | {r.percentile(99):.1f} | {r.errors} | "
            f"{r.rate / floor[servers, callers]:.2f} | {r.client_cpu:.2f} | "
            f"{cpu['server']:.2f} | {cpu['postgres']:.2f} | {cpu.get('S3', 0.0):.2f} | "
            f"{r.machine_busy:.0%} |"
        )
    return "\n".join(lines)


def _at(rows: list[Row], processes: int, name: str, callers: int) -> Result | None:
    for s, n, c, r in rows:
        if (s, n, c) == (processes, name, callers):
            return r
    return None


def verdict(rows: list[Row]) -> str:
    """Issue 13's targets at TARGET_CALLERS callers, per setting, each Met or Missed."""
    lines = [
        f"| server processes | CreateUploadSession/s (>= {TARGET_RATE:,}) "
        f"| p99 ms (<= {TARGET_P99_MS:.0f}) | x Health.Check (>= {TARGET_SHARE:.2f}) "
        f"| CompleteUpload/s (>= {TARGET_COMPLETE_RATE}) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for processes in sorted({s for s, *_ in rows}):
        create = _at(rows, processes, "Create", TARGET_CALLERS)
        check = _at(rows, processes, "Health.Check", TARGET_CALLERS)
        complete = _at(rows, processes, "Complete", TARGET_CALLERS)
        if create is None or check is None or complete is None:
            continue
        share = create.rate / check.rate if check.rate else 0.0
        lines.append(
            f"| {processes} | {create.rate:,.0f} {_mark(create.rate >= TARGET_RATE)} "
            f"| {create.percentile(99):.1f} {_mark(create.percentile(99) <= TARGET_P99_MS)} "
            f"| {share:.2f} {_mark(share >= TARGET_SHARE)} "
            f"| {complete.rate:,.0f} {_mark(complete.rate >= TARGET_COMPLETE_RATE)} |"
        )
    return "\n".join(lines)


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def by_thread(rows: list[Row]) -> str:
    """The server's CPU per call at TARGET_CALLERS callers and one process, split between its
    event loop thread and its other threads (the RPC thread pool above all), read from
    /proc per thread during the timed runs. The loop is the busiest thread under Health.Check,
    whose handler runs on the loop."""
    loop = _loop_thread(rows)
    if loop is None:
        return ""
    lines = [
        "| RPC | server CPU ms/call | event loop thread | every other thread |",
        "|---|---:|---:|---:|",
    ]
    for name in ("Health.Check", "Create", "Complete"):
        r = _at(rows, 1, name, TARGET_CALLERS)
        if r is None or not r.rate:
            continue
        on_loop = r.thread_cpu.get(loop, 0.0) / r.rate * 1000
        rest = sum(c for tid, c in r.thread_cpu.items() if tid != loop) / r.rate * 1000
        lines.append(f"| {RPC_NAMES[name]} | {on_loop + rest:.2f} | {on_loop:.2f} | {rest:.2f} |")
    return "\n".join(lines)


def analysis(rows: list[Row]) -> str:
    """What the figures above say, computed from them: CPU per call, and what a second
    server process changed."""
    out = []
    for processes in sorted({s for s, *_ in rows}):
        for name in ("Create", "Complete"):
            r = _at(rows, processes, name, TARGET_CALLERS)
            if r is None or not r.rate:
                continue
            per_call = {k: v / r.rate * 1000 for k, v in r.process_cpu.items()}
            busiest = max(per_call, key=lambda k: per_call[k])
            out.append(
                f"- {RPC_NAMES[name]}, {processes} server process(es), {TARGET_CALLERS} callers: "
                f"CPU per call {per_call['server']:.2f} ms in the server, "
                f"{per_call['postgres']:.2f} ms in PostgreSQL, {per_call.get('S3', 0.0):.2f} ms "
                f"in the S3 store, "
                f"{r.client_cpu / r.rate * 1000:.2f} ms in the load generator; the "
                f"largest is {busiest}. The machine was {r.machine_busy:.0%} busy"
                + (
                    " (saturated: more processes cannot add calls/s here)."
                    if r.machine_busy >= 0.9
                    else "."
                )
            )
    for callers in sorted({TARGET_CALLERS, CONCURRENCY[-1]}):
        one, two = _at(rows, 1, "Create", callers), _at(rows, 2, "Create", callers)
        if one is None or two is None or not one.rate:
            continue
        out.append(
            f"- A second server process (MEDIA_GRPC_PROCESSES=2) took CreateUploadSession at "
            f"{callers} callers from {one.rate:,.0f}/s to {two.rate:,.0f}/s "
            f"(x{two.rate / one.rate:.2f}), p99 from {one.percentile(99):.1f} to "
            f"{two.percentile(99):.1f} ms, with the machine {two.machine_busy:.0%} busy."
        )
    return "\n".join(out)


async def run_all() -> str:
    rows: list[Row] = []
    quiet = background_load()
    with stack(servers=0, broker=True) as running:
        profiles: dict[str, str] = {}
        accounts: dict[str, str] = {}
        parts = ""
        for processes in PROCESS_SETTINGS:
            log = Path(tempfile.mkdtemp()) / "serve.log"
            port = running.add_server({"MEDIA_GRPC_PROCESSES": str(processes)}, log)
            server = running.servers[-1]
            await wait_for_processes(log, processes)
            await measure(running, server, port, processes, rows)
            if processes == 1:
                parts = rpc_parts.breakdown(running.database_url, running.s3, running.bucket)
                for name in ("Create", "Complete"):
                    profiles[name], shares = await profile(port, server.pid, name)
                    accounts[name] = account(rows, name, shares)
            stop_server(running, server)
    return f"""{__doc__}
Each figure runs {SECONDS:g} s after a warm-up. Callers are closed loops (the next call leaves
when the previous one answered); CompleteUpload completes sessions whose 256-byte object was
PUT beforehand. The server has a broker configured (RabbitMQ, queues of the run's own) and no
worker runs: the job each completion queues is published by the server's relay and left
there, so no figure holds the processing of the uploads (without a broker a server would run
it in its own process, beside the calls). CPU columns are in cores (1.00 = one core busy)
over the run: the load generator itself, all processes of the `media-grpc serve` measured,
this database's PostgreSQL backends, the S3 store (radosgw, ceph-osd, ceph-mon; 0 when it
runs elsewhere). "machine busy" is the whole machine, other tenants included. With
more than one server process the callers use {PROCESS_SETTINGS[-1] * 4} channels (connections),
which the kernel spreads over the processes.
{quiet}

{table(rows)}

Targets (issues 13 and 21) at {TARGET_CALLERS} callers:

{verdict(rows)}

A missed target is explained by the CPU account of its call under "Where a server's time goes"
(below): every millisecond of CPU one call costs, by process and, in the server, by component.

{analysis(rows)}

### Where a server's time goes

The server's CPU per call by thread, one server process, {TARGET_CALLERS} callers, read from
`/proc` per thread in the timed runs above (no profiler attached). The unary MediaService
methods run in the RPC thread pool; gRPC's own work of every call runs on the event loop
thread:

{by_thread(rows)}

{parts}

py-spy (`--gil`, Python CPU time of one `media-grpc serve` process) with {TARGET_CALLERS} callers
and one server process for {PROFILE_SECONDS:g} s, each sample attributed to the innermost frame in a
known package. py-spy samples less often than asked when the machine is saturated: with a few
hundred samples a share is good to a few points. Its samples of the thread holding the GIL
over-weigh the event loop thread (gRPC's compiled code there shows as `Handle._run`): the
per-thread CPU above is what each thread really spent.

CreateUploadSession:

{profiles.get("Create", "")}

{accounts.get("Create", "")}

CompleteUpload:

{profiles.get("Complete", "")}

{accounts.get("Complete", "")}
"""


async def wait_for_processes(log: Path, processes: int) -> None:
    """Until each of the ``processes - 1`` spawned server processes said it is serving."""
    deadline = time.monotonic() + 60
    while log.read_text().count("media-grpc server process") < processes - 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"media-grpc serve did not start {processes} processes")
        await asyncio.sleep(0.2)


def stop_server(running: Stack, server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=60)
    index = running.servers.index(server)
    del running.servers[index], running.ports[index]


def run() -> str:
    started = time.perf_counter()
    body = asyncio.run(run_all())
    return body + f"\nThe whole benchmark took {time.perf_counter() - started:.0f} s.\n"
