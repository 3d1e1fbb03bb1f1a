"""A strict S3 of a test's own dies with the test process, even when that one is SIGKILLed
(tests/strict_s3/private_cluster.py): no Ceph daemon outlives an interrupted run."""

from __future__ import annotations

from pathlib import Path

from tests.killed_parent import killable_parent
from tests.services import reachable
from tests.strict_s3.private_cluster import processes_of
from tests.waiting import eventually

#: A pytest-like parent: starts the cluster as the archive test's fixture does, prints its
#: endpoint, then waits until it is killed.
PARENT = """
import sys
from pathlib import Path
from tests.strict_s3.private_cluster import private_strict_s3
with private_strict_s3(Path(sys.argv[1])) as s3:
    print(s3.url, flush=True)
    sys.stdin.read()
"""


def test_the_daemons_of_a_private_cluster_die_when_its_parent_is_sigkilled(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "strict-s3"
    with killable_parent(PARENT, str(directory)) as parent:
        url = parent.said[0] if parent.said else ""
        assert url.startswith("http://127.0.0.1:"), "the private cluster did not start"
        running = processes_of(directory)  # the parent, the script and the daemons
        daemons = sorted(name for name in running.values() if name.startswith(("ceph", "rados")))
        assert daemons == ["ceph-mon", "ceph-osd", "radosgw"], running

        parent.sigkill()

        eventually(  # the script and every daemon
            lambda: not processes_of(directory), lambda: f"{processes_of(directory)} to end", 30
        )
        assert not reachable(url, 80)
        eventually(lambda: not directory.exists(), "the cluster's directory to be deleted", 10)
