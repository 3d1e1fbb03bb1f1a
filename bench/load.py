"""A closed-loop load generator on grpc.aio: ``concurrency`` callers in one process, each
sending its next call as soon as the previous one answered. Records latencies, errors and the
generator's own CPU time (so a saturated client is visible, not mistaken for a slow server)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

#: One call; raises on failure.
Call = Callable[[int], Awaitable[object]]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    calls: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    client_cpu: float
    process_cpu: dict[str, float] = field(default_factory=dict)
    #: CPU of each thread of the process ``drive`` was asked to split, in cores, by thread id.
    thread_cpu: dict[int, float] = field(default_factory=dict)
    first_error: str = ""
    #: Share of all cores' time the machine was busy (every process, not only ours).
    machine_busy: float = 0.0

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds each thread of a process has used so far, by thread id."""
    found = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


def background_load(seconds: float = 2.0) -> str:
    """How busy the machine is before the benchmark starts anything: other tenants."""
    before = machine_ticks()
    time.sleep(seconds)
    share = busy_share(before, machine_ticks())
    if share < 0.15:
        return f"The machine was {share:.0%} busy before the run started (quiet)."
    return (
        f"**The machine was already {share:.0%} busy before the run started** (processes "
        "outside the benchmark), so these figures are pessimistic; rerun `make bench` on a "
        "quiet machine for the reference figures."
    )


async def drive(
    call: Call,
    concurrency: int,
    seconds: float,
    *,
    limit: int | None = None,
    watch: dict[str, list[int]] | None = None,
    threads_of: int | None = None,
) -> Result:
    """Run ``call(i)`` from ``concurrency`` callers for ``seconds`` (or ``limit`` calls);
    ``threads_of``: a process whose CPU is also recorded thread by thread."""
    latencies: list[float] = []
    errors = 0
    first_error = ""
    issued = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal errors, first_error, issued
        while time.perf_counter() < deadline and (limit is None or issued < limit):
            index = issued
            issued += 1
            started = time.perf_counter()
            try:
                await call(index)
            except (grpc.RpcError, OSError) as e:
                errors += 1
                first_error = first_error or str(e)[:200]
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    watched = watch or {}
    before = {pid: cpu_seconds(pid) for pids in watched.values() for pid in pids}
    threads_before = thread_cpu_seconds(threads_of) if threads_of is not None else {}
    busy_before = machine_ticks()
    cpu_before = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    threads_after = thread_cpu_seconds(threads_of) if threads_of is not None else {}
    return Result(
        calls=len(latencies),
        errors=errors,
        seconds=elapsed,
        latencies_ms=latencies,
        client_cpu=(time.process_time() - cpu_before) / elapsed,
        process_cpu={
            name: sum(max(0.0, cpu_seconds(pid) - before[pid]) for pid in pids) / elapsed
            for name, pids in watched.items()
        },
        thread_cpu={
            tid: (cpu - threads_before.get(tid, 0.0)) / elapsed
            for tid, cpu in threads_after.items()
        },
        machine_busy=busy_share(busy_before, machine_ticks()),
        first_error=first_error,
    )
