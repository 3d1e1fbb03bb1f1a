"""The stage pool: warm children, wall-clock limits, outcomes, recycling.

No test depends on how fast the machine is: a hung function never returns, so only the kill
ends it; children are told apart by their process ids.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected
from media_grpc.observability import logs
from tests import stage_functions
from workers.stage_pool import StagePool
from workers.time_limit import StageCrashed, TimeLimitExceeded


@pytest.fixture
def pool() -> Iterator[StagePool]:
    pool = StagePool(1, preload=())
    yield pool
    pool.close()


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_function_within_its_limit_returns_its_value(pool: StagePool) -> None:
    assert pool.run(stage_functions.sleep_then_return, 0.0, "done", seconds=30) == "done"


def test_jobs_run_in_the_same_pre_started_child(pool: StagePool) -> None:
    pool.start(wait=True)
    (warm,) = pool.idle_pids

    assert [pool.run(stage_functions.pid, seconds=30) for _ in range(3)] == [warm] * 3
    assert warm != os.getpid()


def test_a_job_arriving_while_the_pool_starts_uses_a_started_child_and_no_more(
    pool: StagePool,
) -> None:
    pool.start()  # in the background
    first = pool.run(stage_functions.pid, seconds=30)

    assert pool.idle_pids == [first]
    assert pool.run(stage_functions.pid, seconds=30) == first


def test_a_function_over_its_limit_is_killed_and_a_fresh_child_takes_its_place(
    pool: StagePool,
) -> None:
    hung = pool.run(stage_functions.pid, seconds=30)
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded) as caught:
        pool.run(stage_functions.hang, seconds=0.5)

    assert time.monotonic() - started >= 0.5
    assert caught.value.seconds == 0.5
    assert is_gone(hung)
    assert pool.idle_pids != [hung]
    assert pool.run(stage_functions.pid, seconds=30) not in (hung, os.getpid())


def test_media_rejected_in_the_child_keeps_its_reason(pool: StagePool) -> None:
    with pytest.raises(MediaRejected) as caught:
        pool.run(stage_functions.reject, "bad frame", seconds=30)
    assert (caught.value.reason, caught.value.message) == (FailureReason.CORRUPT, "bad frame")


def test_any_other_error_in_the_child_is_reported_with_its_traceback(pool: StagePool) -> None:
    with pytest.raises(StageCrashed, match="ValueError: boom") as caught:
        pool.run(stage_functions.fail, "boom", seconds=30)
    assert "Traceback" in caught.value.detail


def test_a_child_that_dies_is_reported_as_crashed_and_replaced(pool: StagePool) -> None:
    crashed = pool.run(stage_functions.pid, seconds=30)
    with pytest.raises(StageCrashed, match="died"):
        pool.run(stage_functions.crash, seconds=30)

    assert is_gone(crashed)
    assert pool.run(stage_functions.sleep_then_return, 0.0, "next", seconds=30) == "next"


def test_a_child_is_replaced_after_its_number_of_jobs() -> None:
    pool = StagePool(1, max_jobs=2, preload=())
    try:
        pids = [pool.run(stage_functions.pid, seconds=30) for _ in range(3)]
    finally:
        pool.close()

    assert pids[0] == pids[1] != pids[2]
    assert is_gone(pids[0])


def test_a_child_whose_memory_grew_past_the_cap_is_replaced() -> None:
    pool = StagePool(1, max_rss_bytes=1, preload=())
    try:
        pids = [pool.run(stage_functions.pid, seconds=30) for _ in range(2)]
    finally:
        pool.close()

    assert pids[0] != pids[1]


@pytest.mark.usefixtures("restored_logging")
def test_children_log_warnings_as_json_lines_with_the_jobs_fields() -> None:
    logs.configure_logging("INFO", "json")
    pool = StagePool(1, preload=())
    try:
        with logs.bound(job_id="job-7"):
            lines = pool.run(stage_functions.warn_and_read_the_log, "Corrupt EXIF data", seconds=30)
    finally:
        pool.close()

    records = [json.loads(line) for line in lines]
    assert [(r["logger"], r["job_id"]) for r in records] == [("py.warnings", "job-7")]
    assert "Corrupt EXIF data" in records[0]["message"]
