"""A PostgreSQL of a test's own dies with the test process, even when that one is SIGKILLed
(tests/faults/private_postgres.py): no server outlives an interrupted run, and the next run
deletes the directory it left."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.private_postgres import SCRATCH_PREFIX
from tests.faults.scratch import alive, descendants, sweep
from tests.killed_parent import killable_parent
from tests.ports import free_port
from tests.services import reachable
from tests.waiting import eventually

pytestmark = pytest.mark.faults

#: A pytest-like parent: starts the server as the restart tests' fixture does, restarts it from
#: a thread that then ends, prints its pid and directory, then waits until it is killed.
PARENT = """
import sys
import threading
from tests.faults.private_postgres import private_postgres
with private_postgres(int(sys.argv[1])) as server:
    restarting = threading.Thread(target=server.restart)
    restarting.start()
    restarting.join()
    print(server.pid, server.data.parent, flush=True)
    sys.stdin.read()
"""


def test_a_private_postgres_dies_when_its_parent_is_sigkilled() -> None:
    port = free_port()
    url = f"postgresql://127.0.0.1:{port}"
    with killable_parent(PARENT, str(port)) as parent:
        postmaster, home = parent.said
        server = {int(postmaster), *descendants(int(postmaster))}
        assert len(server) > 1, "the postmaster and its background processes"
        assert reachable(url, port), "the server survived its restart from a thread that ended"

        killed = parent.sigkill()

        eventually(lambda: not alive(server), lambda: f"{alive(server)} to end", 30)
        eventually(lambda: not reachable(url, port), f"port {port} to be free", 10)
        print(f"server gone {time.monotonic() - killed:.2f} s after its parent's SIGKILL")
        assert Path(home) in sweep(SCRATCH_PREFIX), "the next run deletes the directory left"
        assert not Path(home).exists()
