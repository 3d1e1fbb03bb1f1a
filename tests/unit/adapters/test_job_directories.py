"""A job's scratch directory names its owner; a starting worker deletes those whose owner has
ended (a worker SIGKILLed mid-job), and only those."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from media_grpc.adapters.job_directories import (
    OWNER_FILE,
    PREFIX,
    job_directory,
    sweep_left_job_directories,
)

#: Enters a job directory, prints it, then dies by SIGKILL inside it (no cleanup can run).
KILLED_MID_JOB = """
import os, signal
from media_grpc.adapters.job_directories import job_directory
with job_directory() as home:
    (home / "original").write_bytes(b"x" * 1024)
    print(home, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def left_by_a_killed_process(temp_dir: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_MID_JOB],
        env={**os.environ, "TMPDIR": str(temp_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    return Path(done.stdout.strip())


def test_the_directory_a_killed_process_left_is_deleted(tmp_path: Path) -> None:
    left = left_by_a_killed_process(tmp_path)
    assert (left / "original").exists(), "a SIGKILL leaves the job's files"

    assert sweep_left_job_directories(tmp_path) == [left]
    assert not left.exists()


def test_the_directories_of_running_processes_and_of_no_named_owner_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    unowned = tmp_path / f"{PREFIX}unowned"
    unowned.mkdir()
    with job_directory() as ours:
        assert ours.parent == tmp_path and (ours / OWNER_FILE).exists()
        assert sweep_left_job_directories() == []
        assert ours.exists() and unowned.exists()
    assert not ours.exists(), "the job's own exit deletes it"
