"""bench/rpc_account.py: the CPU account of one call, computed from a profiled run's figures."""

from __future__ import annotations

from pathlib import Path

from bench import profiling
from bench.load import Result
from bench.rpc_account import per_call_account


def a_run(calls: int, seconds: float, cpu: dict[str, float], client: float) -> Result:
    return Result(calls, 0, seconds, [1.0] * calls, client, process_cpu=cpu)


def test_each_process_gets_its_cpu_per_call_and_the_server_is_split_by_its_shares() -> None:
    run = a_run(1000, 10.0, {"server": 0.6, "postgres": 0.15, "S3": 0.3}, client=0.05)

    account = per_call_account(run, {"grpc Python layer": 0.5, "SQLAlchemy": 0.5}, 2, "X", 300)

    assert "| `media-grpc serve` (every thread) | 6.00 |" in account
    assert "| &nbsp;&nbsp;of which grpc Python layer (50% of its samples) | 3.00 |" in account
    assert "| PostgreSQL (this database's backends) | 1.50 |" in account
    assert "| S3 store (radosgw, ceph-osd, ceph-mon) | 3.00 |" in account
    assert "| load generator (the callers) | 0.50 |" in account
    assert "| **total** | **11.00** |" in account


def test_a_total_over_the_budget_says_by_how_much_the_target_cannot_be_met() -> None:
    run = a_run(1000, 10.0, {"server": 0.6, "postgres": 0.15, "S3": 0.3}, client=0.05)

    account = per_call_account(run, {}, 2, "X", 300)

    assert "2 cores complete at most 182 calls/s" in account
    assert "needs at most 6.67 ms of CPU per call on 2 cores: 4.33 ms per call over" in account


def test_a_total_within_the_budget_says_the_target_fits() -> None:
    run = a_run(1000, 1.0, {"server": 2.0}, client=0.0)

    account = per_call_account(run, {}, 2, "X", 300)

    assert "at most 1,000 calls/s" in account
    assert "so 300/s fits in the CPU if nothing else runs" in account


def test_a_run_without_answers_has_no_account() -> None:
    assert "no account" in per_call_account(a_run(0, 1.0, {}, 0.0), {}, 2, "X", 300)


def test_category_shares_are_the_components_share_of_the_samples(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "main (app.py:1);handle (site-packages/grpc/_server.py:10) 3\n"
        "main (app.py:1);execute (site-packages/sqlalchemy/engine/base.py:5) 1\n"
    )

    assert profiling.category_shares(raw) == {
        "grpc Python layer": 0.75,
        "SQLAlchemy (ORM, pool, SQL)": 0.25,
    }


def test_summarise_takes_the_components_it_is_given(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text("run (src/media_grpc/client/upload.py:70) 2\nput (site-packages/x.py:1) 2\n")

    table = profiling.summarise(raw, categories=(("client/upload.py", "hashing"),))

    assert "| hashing | 50% |" in table
    assert "| other (stdlib, threads) | 50% |" in table


def test_the_server_s_cpu_is_also_split_by_thread_when_the_loop_s_share_is_known() -> None:
    run = a_run(1000, 10.0, {"server": 0.6}, client=0.0)

    account = per_call_account(run, {}, 2, "X", 300, loop_share=0.25)

    assert "| &nbsp;&nbsp;by thread (/proc): the event loop thread | 1.50 |" in account
    assert "every other thread (the RPC pool above all) | 4.50 |" in account
