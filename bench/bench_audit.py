"""What the audit trail costs: CreateUploadSession and CompleteUpload with events on and off.

Two `media-grpc serve` processes on one stack (database, S3), one with
MEDIA_LIFECYCLE__AUDIT_EVENTS=true and one with false. Each round measures both, in
alternating order, at CALLERS callers; the figure of each is its median over the rounds,
and the verdict is the ratio on/off of the medians (target: within 10%, i.e. at least 0.90).

On a shared machine the rate of one measurement swings with what the other tenants do, so two
figures stand beside it: the median of the rounds' own on/off ratios (on and off measured
seconds apart), and each server's CPU per call (its processes' CPU time over the calls
answered), which the other tenants inflate far less than they cut the rate.
"""

from __future__ import annotations

import asyncio
import os
import statistics
from dataclasses import dataclass, field

import grpc

from bench.bench_rpc import Client, descendants
from bench.load import Result, background_load, drive
from bench.stack import stack

SECONDS = float(os.environ.get("MEDIA_BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("MEDIA_BENCH_AUDIT_ROUNDS", "5"))
CALLERS = 16
#: Sessions prepared per CompleteUpload measurement (enough for SECONDS at a few hundred/s).
PREPARED = 1200
TARGET_RATIO = 0.90
SETTINGS = {"on": "true", "off": "false"}
CALLS = ("CreateUploadSession", "CompleteUpload")


@dataclass
class Rounds:
    """One call's measurements with one setting, a figure per round."""

    rates: list[float] = field(default_factory=list)
    #: The server's CPU milliseconds per call answered.
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, result: Result) -> None:
        self.rates.append(result.rate)
        if result.rate:
            self.cpu_ms.append(result.process_cpu.get("server", 0.0) / result.rate * 1000)


Found = dict[tuple[str, str], Rounds]


async def rates(ports: dict[str, int], pids: dict[str, list[int]]) -> Found:
    """{(setting, call): its rounds}, settings alternating first and second."""
    channels = {
        name: grpc.aio.insecure_channel(f"127.0.0.1:{port}") for name, port in ports.items()
    }
    found: Found = {}
    try:
        clients = {name: Client(channel) for name, channel in channels.items()}
        for client in clients.values():
            await drive(client.create, CALLERS, 1.0)  # warm up connections and pools
        for n in range(ROUNDS):
            order = list(clients) if n % 2 == 0 else list(reversed(clients))
            for name in order:
                client, watch = clients[name], {"server": pids[name]}
                created = await drive(client.create, CALLERS, SECONDS, watch=watch)
                prepared = await client.prepare(PREPARED)
                completed = await drive(
                    client.completer(prepared), CALLERS, SECONDS, limit=len(prepared), watch=watch
                )
                for call, result in zip(CALLS, (created, completed), strict=True):
                    if result.errors:
                        raise RuntimeError(f"{call} with events {name}: {result.first_error}")
                    found.setdefault((name, call), Rounds()).add(result)
    finally:
        for channel in channels.values():
            await channel.close()
    return found


def report(found: Found) -> str:
    lines = [
        f"| call ({CALLERS} callers) | events on, calls/s | events off, calls/s "
        f"| on / off (>= {TARGET_RATIO:.2f}) | per-round on / off, median "
        "| server CPU ms/call on | off | CPU off / on |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for call in CALLS:
        on, off = found[("on", call)], found[("off", call)]
        on_rate, off_rate = statistics.median(on.rates), statistics.median(off.rates)
        ratio = on_rate / off_rate if off_rate else 0.0
        mark = "met" if ratio >= TARGET_RATIO else "**missed**"
        paired = [a / b for a, b in zip(on.rates, off.rates, strict=True) if b]
        on_cpu = statistics.median(on.cpu_ms) if on.cpu_ms else 0.0
        off_cpu = statistics.median(off.cpu_ms) if off.cpu_ms else 0.0
        lines.append(
            f"| {call} | {on_rate:,.0f} | {off_rate:,.0f} | {ratio:.2f} ({mark}) "
            f"| {statistics.median(paired) if paired else 0.0:.2f} "
            f"| {on_cpu:.2f} | {off_cpu:.2f} | {off_cpu / on_cpu if on_cpu else 0.0:.2f} |"
        )
    return "\n".join(lines)


def run() -> str:
    quiet = background_load()
    with stack(servers=0, broker=True) as running:
        ports = {
            name: running.add_server({"MEDIA_LIFECYCLE__AUDIT_EVENTS": value})
            for name, value in SETTINGS.items()
        }
        pids = {
            name: descendants(server.pid)
            for name, server in zip(SETTINGS, running.servers, strict=True)
        }
        found = asyncio.run(rates(ports, pids))
    return f"""{quiet}

Two `media-grpc serve` processes on one PostgreSQL and S3, one writing an audit event with
every change (`MEDIA_LIFECYCLE__AUDIT_EVENTS=true`, the default) and one not. {ROUNDS} rounds,
each measuring both in alternating order for {SECONDS:g} s per call; the figures are medians.
CompleteUpload completes sessions whose 256-byte object was uploaded beforehand. The servers
have a broker configured and no worker runs: the uploads are not processed meanwhile.
"per-round on / off" is the median of each round's own ratio (both measured seconds apart);
server CPU is the `media-grpc serve` process's CPU time per call answered, which other
tenants of the machine inflate less than they cut its rate. With events on, an event is
inserted by the statement of the change it records (PostgreSQL), not by one of its own.

{report(found)}
"""
