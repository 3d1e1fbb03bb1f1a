"""The scratch directory of one processing job, and the sweep of those a killed process left.

A job downloads its original and writes its outputs under ``media-job-*`` in the temporary
directory, deleted when the job ends. A worker killed mid-job (SIGKILL, the OOM killer) cannot
delete it, and an original can be gigabytes. So each directory names the process that made it
(an owner file: pid and start time, from ``/proc``), and a starting worker deletes those whose
owner has ended. Where ``/proc`` is missing the owner is unknown and nothing is swept.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "media-job-"
OWNER_FILE = ".owner"


def process_identity(pid: int) -> str | None:
    """``"pid start-time"`` of a running process (a reused pid has another start time), or None
    when there is no such process, it has ended (a zombie), or ``/proc`` is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else f"{pid} {start_time}"


@contextmanager
def job_directory() -> Iterator[Path]:
    """A new, empty scratch directory owned by this process, deleted on exit."""
    with tempfile.TemporaryDirectory(prefix=PREFIX) as name:
        home = Path(name)
        owner = process_identity(os.getpid())
        if owner:
            (home / OWNER_FILE).write_text(owner)
        yield home


def sweep_left_job_directories(parent: Path | None = None) -> list[Path]:
    """Delete the job directories in ``parent`` (the temporary directory) whose owner has
    ended; returns them. Those of running processes, and those naming no owner, stay."""
    swept = []
    for home in Path(parent or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = (home / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # no owner named (or being created right now)
        if not owner or process_identity(int(owner.split()[0])) == owner:
            continue
        shutil.rmtree(home, ignore_errors=True)
        if not home.exists():
            swept.append(home)
    if swept:
        log.info("deleted %d job directories left by ended processes", len(swept))
    return swept
