"""Print the import graph between the packages under src/ and any cycle in it.

A package is a folder of modules (``media_grpc.service``, ``workers.stages``); a top-level module
(``media_grpc.bootstrap``) counts as a package of its own. Every import counts, including those
inside functions and under ``TYPE_CHECKING``. Exits 1 when packages import each other in a cycle.

    .venv/bin/python scripts/import_graph.py
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOTS = ("media_grpc", "workers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str, packages: set[str]) -> str:
    """The deepest known package holding ``module`` (or the module itself, if top-level)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in packages:
            return candidate
    return module


def imported_modules(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if path.name != "__init__.py":
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ROOTS}


def package_graph() -> dict[str, set[str]]:
    """Each package and the other packages it imports."""
    files = [path for root in ROOTS for path in (SRC / root).rglob("*.py")]
    packages = {module_name(path.parent) for path in files if path.name == "__init__.py"}
    # A top-level module of media_grpc (bootstrap.py, cli.py) is a node of its own.
    packages.update(
        module_name(path)
        for path in files
        if path.parent == SRC / "media_grpc" and path.stem != "__init__"
    )
    graph: dict[str, set[str]] = defaultdict(set)
    for path in files:
        module = module_name(path)
        source = package_of(module, packages)
        graph[source]
        for target in imported_modules(path, module):
            target_package = package_of(target, packages)
            if target_package not in (source, "media_grpc"):
                graph[source].add(target_package)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    graph = package_graph()
    for package in sorted(graph):
        print(f"{package} -> {', '.join(sorted(graph[package])) or '(nothing of ours)'}")
    found = cycles(graph)
    for component in found:
        print(f"CYCLE: {' <-> '.join(component)}")
    print(f"{len(graph)} packages, {len(found)} cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
