"""Where each millisecond of CPU of one call goes, across every process that serves it: the CPU
of each process per call in a timed run (read from /proc) and the shares of the server's py-spy
samples in a profiled one. Every figure in the text is computed from them."""

from __future__ import annotations

from bench.load import Result

#: The processes ``drive`` watched, in the order of the table, with what they stand for.
PROCESSES = (
    ("server", "`media-grpc serve` (every thread)"),
    ("postgres", "PostgreSQL (this database's backends)"),
    ("S3", "S3 store (radosgw, ceph-osd, ceph-mon)"),
)


def per_call_account(
    result: Result, shares: dict[str, float], cores: int, rpc: str, target_rate: float
) -> str:
    """A table of CPU milliseconds per call, the server's split by its py-spy shares, and what
    the total allows on ``cores`` against ``target_rate`` calls/s."""
    if not result.rate:
        return f"_No {rpc} call answered in the profiled run: no account._"
    per_call = {
        name: result.process_cpu.get(name, 0.0) / result.rate * 1000 for name, _ in PROCESSES
    }
    client = result.client_cpu / result.rate * 1000
    total = sum(per_call.values()) + client
    rows = [f"| {PROCESSES[0][1]} | {per_call['server']:.2f} |"]
    rows += [
        f"| &nbsp;&nbsp;of which {component} ({share:.0%} of its samples) | "
        f"{per_call['server'] * share:.2f} |"
        for component, share in shares.items()
    ]
    rows += [f"| {label} | {per_call[name]:.2f} |" for name, label in PROCESSES[1:]]
    rows += [f"| load generator (the callers) | {client:.2f} |", f"| **total** | **{total:.2f}** |"]
    ceiling = cores / total * 1000
    budget = cores / target_rate * 1000
    verdict = (
        f", so {target_rate:,.0f}/s fits in the CPU if nothing else runs"
        if ceiling >= target_rate
        else f". That is below the target of {target_rate:,.0f}/s, which needs at most "
        f"{budget:.2f} ms of CPU per call on {cores} cores: {total - budget:.2f} ms per call "
        f"over that budget, "
        f"whatever the concurrency"
    )
    return f"""{rpc}, CPU per call at {result.rate:,.0f} calls/s ({result.calls:,} calls, timed, no
profiler attached). The server's share is split by the components of its py-spy samples (taken
apart, at the same concurrency), which see its Python threads holding the GIL, so the gRPC C
core's own threads are spread in proportion. The S3 store's is the whole store's: on a shared
one, other users' requests are in it.

| where | CPU ms per call |
|---|---:|
{chr(10).join(rows)}

At {total:.2f} ms of CPU per call, {cores} cores complete at most {ceiling:,.0f} calls/s
however they are scheduled{verdict}."""
