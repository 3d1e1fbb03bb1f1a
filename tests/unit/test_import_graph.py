"""The packages under src/ import each other in one direction (scripts/import_graph.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import import_graph


def test_no_two_packages_import_each_other_even_through_others() -> None:
    graph = import_graph.package_graph()
    assert "media_grpc.service" in graph and "workers" in graph  # the graph found the tree
    assert import_graph.cycles(graph) == []


def test_the_domain_imports_no_other_package_of_ours() -> None:
    assert import_graph.package_graph()["media_grpc.domain"] == set()
