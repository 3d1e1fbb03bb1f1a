"""docs/operations.md's Scaling figures are the ones scripts/scaling_section.py computes from
docs/benchmarks.md: a new `make bench` run must be followed by `make scaling-figures`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "scaling_section", ROOT / "scripts" / "scaling_section.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scaling_section", module)
    spec.loader.exec_module(module)
    return module


def test_the_scaling_figures_in_operations_match_the_benchmarks() -> None:
    script = _script()
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = script.render(script.read_figures(benchmarks))
    assert section in operations, "run `make scaling-figures`"
    assert script.rewrite(operations, section) == operations


def test_the_figures_follow_the_benchmark_numbers() -> None:
    script = _script()
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()
    figures = script.read_figures(benchmarks)
    slower = benchmarks.replace(
        f"job taken to READY in the worker | 50 | {figures.photo_job_ms:,.1f} |",
        f"job taken to READY in the worker | 50 | {2 * figures.photo_job_ms:,.1f} |",
    )
    assert script.read_figures(slower).photo_job_ms == 2 * figures.photo_job_ms
    photos_hours = figures.photo_job_ms * script.PHOTOS_PER_DAY / 1000 / 3600
    assert f"= {photos_hours:,.1f} core-hours a day" in script.render(figures)
    assert f"= {2 * photos_hours:,.1f} core-hours a day" in script.render(
        script.read_figures(slower)
    )
