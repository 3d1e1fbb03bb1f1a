"""What the audit trail costs: CreateUploadSession and CompleteUpload with events on and off.

Two `media-grpc serve` processes on one stack (database, S3), one with
MEDIA_LIFECYCLE__AUDIT_EVENTS=true and one with false. Each round measures both, in
alternating order, at TARGET_CALLERS callers; the figure of each is its median over the rounds,
and the verdict is the ratio on/off (target: within 10%, i.e. at least 0.90).
"""

from __future__ import annotations

import asyncio
import os
import statistics

import grpc

from bench.bench_rpc import Client
from bench.load import background_load, drive
from bench.stack import stack

SECONDS = float(os.environ.get("MEDIA_BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("MEDIA_BENCH_AUDIT_ROUNDS", "5"))
CALLERS = 16
#: Sessions prepared per CompleteUpload measurement (enough for SECONDS at a few hundred/s).
PREPARED = 1200
TARGET_RATIO = 0.90
SETTINGS = {"on": "true", "off": "false"}


async def rates(ports: dict[str, int]) -> dict[tuple[str, str], list[float]]:
    """{(setting, call): [calls/s per round]}, settings alternating first and second."""
    channels = {
        name: grpc.aio.insecure_channel(f"127.0.0.1:{port}") for name, port in ports.items()
    }
    found: dict[tuple[str, str], list[float]] = {}
    try:
        clients = {name: Client(channel) for name, channel in channels.items()}
        for client in clients.values():
            await drive(client.create, CALLERS, 1.0)  # warm up connections and pools
        for n in range(ROUNDS):
            order = list(clients) if n % 2 == 0 else list(reversed(clients))
            for name in order:
                client = clients[name]
                created = await drive(client.create, CALLERS, SECONDS)
                prepared = await client.prepare(PREPARED)
                completed = await drive(
                    client.completer(prepared), CALLERS, SECONDS, limit=len(prepared)
                )
                for call, result in (
                    ("CreateUploadSession", created),
                    ("CompleteUpload", completed),
                ):
                    if result.errors:
                        raise RuntimeError(f"{call} with events {name}: {result.first_error}")
                    found.setdefault((name, call), []).append(result.rate)
    finally:
        for channel in channels.values():
            await channel.close()
    return found


def report(found: dict[tuple[str, str], list[float]]) -> str:
    lines = [
        f"| call ({CALLERS} callers) | events on, calls/s | events off, calls/s "
        f"| on / off (>= {TARGET_RATIO:.2f}) |",
        "|---|---:|---:|---:|",
    ]
    for call in ("CreateUploadSession", "CompleteUpload"):
        on = statistics.median(found[("on", call)])
        off = statistics.median(found[("off", call)])
        ratio = on / off if off else 0.0
        mark = "met" if ratio >= TARGET_RATIO else "**missed**"
        lines.append(f"| {call} | {on:,.0f} | {off:,.0f} | {ratio:.2f} ({mark}) |")
    return "\n".join(lines)


def run() -> str:
    quiet = background_load()
    with stack(servers=0) as running:
        ports = {
            name: running.add_server({"MEDIA_LIFECYCLE__AUDIT_EVENTS": value})
            for name, value in SETTINGS.items()
        }
        found = asyncio.run(rates(ports))
    return f"""{quiet}

Two `media-grpc serve` processes on one PostgreSQL and S3, one writing an audit event with
every change (`MEDIA_LIFECYCLE__AUDIT_EVENTS=true`, the default) and one not. {ROUNDS} rounds,
each measuring both in alternating order for {SECONDS:g} s per call; the figures are medians.
CompleteUpload completes sessions whose 256-byte object was uploaded beforehand.

{report(found)}
"""
