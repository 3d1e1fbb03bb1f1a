"""The rehearsal in order: a cluster, the four checks, one line of counts per check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.rehearsal import checks
from tests.rehearsal.cluster import cluster


def rehearse(uploads: int, watched: int, log_dir: Path | None = None) -> Iterator[str]:
    """Yields each check's line as it passes; raises AssertionError at the first that fails.
    The kill comes last: it leaves one server and one worker."""
    with cluster(log_dir) as nodes:
        yield (
            f"nodes: servers s1 {nodes.processes['s1'].target}, s2 {nodes.processes['s2'].target}; "
            f"workers w1 {nodes.lab.nodes['w1'].address}, w2 {nodes.lab.nodes['w2'].address}; "
            f"PostgreSQL, RabbitMQ and S3 forwarded from {nodes.service_address} to the host"
        )
        urls = checks.Urls()
        yield checks.watch_across_nodes(nodes, urls, watched)
        yield checks.limits_across_nodes(nodes, urls)
        yield checks.kill_mid_traffic(nodes, urls, uploads, settle=120)
        yield checks.urls_name_no_node(nodes, urls)
    yield "removed: namespaces, links, forwarders, nodes, database, queues and bucket"
