"""`media-grpc serve` with MEDIA_GRPC_PROCESSES: child server processes die with their parent,
however the parent dies."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from media_grpc.bootstrap import Application
from tests.e2e.conftest import start_serve, stop
from tests.integration.test_limits_across_processes import _lines, serve_env
from tests.waiting import eventually

CHILD_SERVING = re.compile(r"media-grpc server process (\d+) serving on")


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (an orphan waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_child_server_processes_exit_when_serve_is_killed(
    app: Application, own_database_url: str
) -> None:
    served = start_serve(serve_env(app, own_database_url, MEDIA_GRPC_PROCESSES="3"))
    lines = _lines(served.process)
    children: set[int] = set()
    output: list[str] = []

    def both_children_serving() -> bool:
        while not lines.empty():
            output.append(lines.get_nowait())
            found = CHILD_SERVING.search(output[-1])
            if found:
                children.add(int(found.group(1)))
        return len(children) == 2

    def noticed_by_both() -> bool:
        while not lines.empty():
            output.append(lines.get_nowait())
        return sum("server process: parent process died" in line for line in output) == 2

    try:
        eventually(both_children_serving, "two child server processes serving", 60)
        assert all(is_running(pid) for pid in children)
        os.kill(served.process.pid, signal.SIGKILL)  # no handler runs, nothing is signalled
        served.process.wait(10)
        # The children read EOF on their parent pipe at once, drain (0 s) and stop.
        eventually(
            lambda: not any(is_running(pid) for pid in children),
            lambda: (
                f"child server processes {sorted(p for p in children if is_running(p))} "
                "to exit after their parent was killed"
            ),
            15,
        )
        # The pipe told them (not a signal): how fast is for make bench, not a timed test.
        eventually(noticed_by_both, "both children to log their parent's death", 5)
    finally:
        stop(served.process)
        for pid in children:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
