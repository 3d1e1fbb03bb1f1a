"""The short rehearsal (`make rehearsal` runs the long one): two server and two worker nodes in
network namespaces of their own, against the host's PostgreSQL, RabbitMQ and strict S3."""

from __future__ import annotations

import os

import pytest

from tests.rehearsal.cluster import cluster
from tests.rehearsal.network import Lab, ip
from tests.rehearsal.run import rehearse

#: Four nodes start under whatever else the machine runs: more than the default 300 s.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _leftovers(tag: str) -> list[str]:
    return [name for name in ip("netns", "list").split() + ip("-o", "link").split() if tag in name]


def test_short_rehearsal_passes_every_check_and_removes_what_it_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = Lab().tag
    lines = list(rehearse(uploads=36, watched=2))
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert [line.split(":")[0] for line in lines] == [
        "nodes", "watch", "limits", "kill", "urls", "removed",
    ]  # fmt: skip
    assert not _leftovers(tag)


def test_a_failing_rehearsal_still_removes_its_namespaces_links_and_processes() -> None:
    tag = Lab().tag
    pids: list[int] = []
    with (
        pytest.raises(RuntimeError, match="a check failed"),
        cluster(servers=("s1",), workers=("w1",)) as nodes,
    ):
        pids = [p.popen.pid for p in nodes.processes.values()]
        assert len(_leftovers(tag)) >= 2
        raise RuntimeError("a check failed")
    assert pids and not _leftovers(tag)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
