"""A strict S3 of a test's own (scripts/strict-s3.sh ``run``) that dies with the test process.

The script keeps Ceph's daemons in the foreground as its children, each with SIGKILL as its
parent-death signal, and is itself started with SIGTERM as its own (``setpriv --pdeathsig``, so
no ``preexec_fn`` in a threaded pytest): when pytest ends in any way, SIGKILL included, the
script stops the daemons and deletes the cluster's directory, and a daemon the script did not
get to stop is killed by the kernel when the script goes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port
from tests.services import S3Service
from tests.strict_s3.shared_store import (
    STRICT_S3_ACCESS_KEY,
    STRICT_S3_SCRIPT,
    STRICT_S3_SECRET_KEY,
)


@contextmanager
def private_strict_s3(
    directory: Path, lc_day_seconds: int = 0, storage_classes: tuple[str, ...] = ()
) -> Iterator[S3Service]:
    """A one-node cluster in ``directory`` (deleted afterwards) on free ports.

    ``lc_day_seconds`` makes a lifecycle "day" that many seconds (0: real days); each of
    ``storage_classes`` is added beside STANDARD.
    """
    command = [
        "setpriv",
        "--pdeathsig",
        "TERM",
        "bash",
        str(STRICT_S3_SCRIPT),
        "run",
        str(directory),
        str(free_port()),
        str(free_port()),
        str(lc_day_seconds),
        *storage_classes,
    ]
    script = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        assert script.stdout is not None and script.stderr is not None
        url = script.stdout.readline().strip()  # the endpoint, once radosgw answers
        if not url:
            script.wait(timeout=60)
            raise AssertionError(f"strict-s3.sh run failed: {script.stderr.read()}")
        yield S3Service(url, STRICT_S3_ACCESS_KEY, STRICT_S3_SECRET_KEY)
    finally:
        script.terminate()  # the script stops the daemons (SIGKILL after 2 s) and deletes DIR
        script.wait(timeout=60)


def processes_of(directory: Path) -> dict[int, str]:
    """pid -> command of the processes whose command line names ``directory`` (the cluster's
    daemons name its ceph.conf)."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if any(str(directory).encode() in arg for arg in argv):
            found[int(entry)] = os.path.basename(argv[0].decode(errors="replace"))
    return found
