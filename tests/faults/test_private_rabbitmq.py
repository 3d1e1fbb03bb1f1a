"""A RabbitMQ node of a test's own dies with the test process, even when that one is SIGKILLed
(tests/faults/private_rabbitmq.py): neither the Erlang VM nor its children outlive an
interrupted run, the machine's epmd stays, and the next run deletes the directory left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.private_rabbitmq import SCRATCH_PREFIX
from tests.faults.scratch import alive, descendants, sweep
from tests.services import reachable
from tests.waiting import eventually

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
#: A pytest-like parent: starts the node as the broker test's fixture does, prints its AMQP
#: port and directory, then waits until it is killed.
PARENT = """
import sys
from tests.faults.private_rabbitmq import private_rabbitmq
with private_rabbitmq() as node:
    print(node.port, node.home, flush=True)
    sys.stdin.read()
"""


def epmd_processes() -> set[int]:
    """The pids of the running epmd daemons (the machine's RabbitMQ shares one)."""
    found = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "epmd":
                found.add(int(comm.parent.name))
        except OSError:
            continue  # gone meanwhile
    return found


def test_a_private_rabbitmq_dies_when_its_parent_is_sigkilled() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        port, home = parent.stdout.readline().split()
        url = f"amqp://127.0.0.1:{port}"
        vm = int((Path(home) / "pid").read_text())
        node = {vm, *descendants(vm)}
        assert vm in descendants(parent.pid), "the Erlang VM is the test process's own"
        assert len(node) > 1, "the VM and erl_child_setup at least"
        epmd = epmd_processes()
        assert reachable(url, int(port))

        os.kill(parent.pid, signal.SIGKILL)
        killed = time.monotonic()
        parent.wait(timeout=10)

        eventually(lambda: not alive(node), lambda: f"{alive(node)} to end", 30)
        eventually(lambda: not reachable(url, int(port)), f"port {port} to be free", 10)
        print(f"node gone {time.monotonic() - killed:.2f} s after its parent's SIGKILL")
        assert alive(epmd) == epmd, "the shared epmd stays"
        assert Path(home) in sweep(SCRATCH_PREFIX), "the next run deletes the directory left"
        assert not Path(home).exists()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
