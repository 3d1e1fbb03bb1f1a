from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from media_grpc.domain.model import FailureReason
from tests import stage_functions
from workers.stage import MediaRejected
from workers.time_limit import StageCrashed, TimeLimitExceeded, run_with_time_limit


def test_a_function_within_its_limit_returns_its_value() -> None:
    assert run_with_time_limit(stage_functions.sleep_then_return, 0.0, "done", seconds=30) == "done"


def test_a_function_over_its_limit_is_killed_and_raises_time_limit_exceeded(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded) as caught:
        run_with_time_limit(stage_functions.write_pid_then_hang, str(pid_file), seconds=2)
    assert time.monotonic() - started < 10
    assert caught.value.seconds == 2
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_media_rejected_in_the_child_keeps_its_reason() -> None:
    with pytest.raises(MediaRejected) as caught:
        run_with_time_limit(stage_functions.reject, "bad frame", seconds=30)
    assert (caught.value.reason, caught.value.message) == (FailureReason.CORRUPT, "bad frame")


def test_any_other_error_in_the_child_is_reported_with_its_traceback() -> None:
    with pytest.raises(StageCrashed, match="ValueError: boom") as caught:
        run_with_time_limit(stage_functions.fail, "boom", seconds=30)
    assert "Traceback" in caught.value.detail


def test_a_child_that_dies_is_reported_as_crashed_not_hung() -> None:
    with pytest.raises(StageCrashed, match="died"):
        run_with_time_limit(stage_functions.crash, seconds=30)
