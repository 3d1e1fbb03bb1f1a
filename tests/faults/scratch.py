"""Scratch directories of the private servers, and the processes that outlive a test run.

A SIGKILLed run cannot delete its directory. So each one names the process that made it (an
``owner`` file: pid and start time), and the next run deletes those whose owner has gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from media_grpc.adapters.job_directories import process_identity

OWNER_FILE = "owner"


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running."""
    return {pid for pid in pids if process_identity(pid)}


def descendants(pid: int) -> set[int]:
    """The pids of the running processes under ``pid``: its children, theirs, and so on."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    level = {pid}
    while level:
        level = {child for child, parent in parents.items() if parent in level} - found
        found |= level
    return found


def scratch_directory(prefix: str) -> Path:
    """A new directory in the temporary directory, named ``prefix``..., owned by this process;
    the directories of that prefix left by ended processes are deleted first."""
    sweep(prefix)
    home = Path(tempfile.mkdtemp(prefix=prefix))
    (home / OWNER_FILE).write_text(process_identity(os.getpid()) or "")
    return home


def sweep(prefix: str) -> list[Path]:
    """Delete the directories named ``prefix``... whose owner has ended; return them.

    A directory without an owner (no file, or an empty one) is kept: another run may be making
    it right now.
    """
    swept = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = (path / OWNER_FILE).read_text().strip()
        except OSError:
            continue
        if owner and process_identity(int(owner.split()[0])) != owner:
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():  # another user's is left
                swept.append(path)
    return swept
