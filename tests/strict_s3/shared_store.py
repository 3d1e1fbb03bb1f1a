"""The shared strict S3 of scripts/strict-s3.sh (Ceph's RADOS Gateway): its fixed test keys, and
starting it when it does not answer. One home for the tests (tests/services.py) and the
benchmarks (bench/stack.py); nothing here needs pytest."""

from __future__ import annotations

import subprocess
from pathlib import Path

STRICT_S3_SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "strict-s3.sh"
#: The fixed keys of the script's test user (a local test store).
STRICT_S3_ACCESS_KEY = "strict-s3-access"
STRICT_S3_SECRET_KEY = "strict-s3-secret-key-for-tests"


class StrictS3NotStarted(RuntimeError):
    """scripts/strict-s3.sh could not start (or install) the shared strict S3."""


def script(command: str, *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(STRICT_S3_SCRIPT), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ensure_shared_strict_s3() -> str:
    """The shared store's URL, started (and installed, as root) when it does not answer."""
    started = script("ensure")
    if started.returncode != 0:
        raise StrictS3NotStarted(
            "the strict S3 (Ceph's RADOS Gateway) could not be started by scripts/strict-s3.sh: "
            f"{started.stderr.strip()}"
        )
    return started.stdout.strip()


def shared_strict_s3_pids() -> tuple[int, ...]:
    """The processes serving the shared store on this machine (for CPU accounting)."""
    return tuple(int(p) for p in script("pids", timeout=60).stdout.split())
