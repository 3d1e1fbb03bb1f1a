"""The rpc benchmark's split of the server's CPU per call between its event loop thread (the
busiest under Health.Check) and every other thread."""

from __future__ import annotations

from bench.bench_rpc import by_thread
from bench.load import Result


def result(rate: float, threads: dict[int, float]) -> Result:
    return Result(
        calls=int(rate), errors=0, seconds=1.0, latencies_ms=[], client_cpu=0.0,
        thread_cpu=threads,
    )  # fmt: skip


def test_the_loop_is_the_busiest_thread_under_health_check_and_each_rpc_is_split_by_it() -> None:
    rows = [
        (1, "Health.Check", 16, result(2000, {10: 0.6, 11: 0.1})),
        (1, "Create", 16, result(200, {10: 0.1, 11: 0.2, 12: 0.2})),
        (1, "Complete", 16, result(100, {10: 0.1, 11: 0.5})),
    ]

    table = by_thread(rows).splitlines()

    assert table[2] == "| Health.Check | 0.35 | 0.30 | 0.05 |"
    assert table[3] == "| CreateUploadSession | 2.50 | 0.50 | 2.00 |"
    assert table[4] == "| CompleteUpload | 6.00 | 1.00 | 5.00 |"
