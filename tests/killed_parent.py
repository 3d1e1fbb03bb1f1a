"""A pytest-like parent process for the tests that prove a private server dies with the test
process that started it: the parent runs a script that starts the server and prints one line
about it, then waits until the test SIGKILLs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Parent:
    process: subprocess.Popen[str]
    #: The first line the script printed, split on white space.
    said: list[str]

    def sigkill(self) -> float:
        """SIGKILL the parent and reap it; returns the monotonic time of the kill."""
        os.kill(self.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        self.process.wait(timeout=10)
        return killed


@contextmanager
def killable_parent(script: str, *args: str) -> Iterator[Parent]:
    """Run ``script`` (Python, from the repository's root) with ``args``; its first line of
    output is read before the test goes on. The parent is killed on exit if the test did not."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield Parent(process, process.stdout.readline().split())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
