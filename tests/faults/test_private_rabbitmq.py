"""A RabbitMQ node of a test's own dies with the test process, even when that one is SIGKILLed
(tests/faults/private_rabbitmq.py): neither the Erlang VM nor its children outlive an
interrupted run, the machine's epmd stays, and the next run deletes the directory left."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.private_rabbitmq import SCRATCH_PREFIX
from tests.faults.scratch import alive, descendants, sweep
from tests.killed_parent import killable_parent
from tests.services import reachable
from tests.waiting import eventually

pytestmark = pytest.mark.faults

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
    with killable_parent(PARENT) as parent:
        port, home = parent.said
        url = f"amqp://127.0.0.1:{port}"
        vm = int((Path(home) / "pid").read_text())
        node = {vm, *descendants(vm)}
        assert vm in descendants(parent.process.pid), "the Erlang VM is the test process's own"
        assert len(node) > 1, "the VM and erl_child_setup at least"
        epmd = epmd_processes()
        assert reachable(url, int(port))

        killed = parent.sigkill()

        eventually(lambda: not alive(node), lambda: f"{alive(node)} to end", 30)
        eventually(lambda: not reachable(url, int(port)), f"port {port} to be free", 10)
        print(f"node gone {time.monotonic() - killed:.2f} s after its parent's SIGKILL")
        assert alive(epmd) == epmd, "the shared epmd stays"
        assert Path(home) in sweep(SCRATCH_PREFIX), "the next run deletes the directory left"
        assert not Path(home).exists()
