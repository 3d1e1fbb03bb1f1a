"""Run benchmarks and write their sections into docs/benchmarks.md.

Each ``bench/bench_<name>.py`` exposes ``run() -> str``: a Markdown section body that reports
ratios against a reference measured in the same run. ``python -m bench`` runs all of them;
``python -m bench image video`` runs only those and leaves the other sections as they were.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Produced by `make bench` (which runs `python -m bench`); one section per benchmark, each
rerun alone with `.venv/bin/python -m bench NAME`. Every figure is a ratio against a reference
measured in the same run, or an absolute figure labelled with the machine it was taken on.
"""


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}"


class LoadWatch:
    """The highest 1-minute load average seen, sampled every ``every`` seconds while it runs."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.highest = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="load-watch", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.highest = max(self.highest, os.getloadavg()[0])

    def __enter__(self) -> LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.highest = max(self.highest, os.getloadavg()[0])


def load_note(highest: float, cores: int) -> str:
    """The section's line about load: marked when the load average exceeded the core count."""
    if highest > cores:
        return (
            f"**Measured under load**: the 1-minute load average reached {highest:.1f} on "
            f"{cores} cores during this section, so absolute figures are inflated; read the "
            "ratios against the references measured in the same run."
        )
    return f"The 1-minute load average stayed at or below {highest:.1f} ({cores} cores)."


def measured(run: Callable[[], str]) -> tuple[str, str]:
    """``run()``'s section body and its load line."""
    with LoadWatch() as watch:
        body = run()
    return body, load_note(watch.highest, os.cpu_count() or 1)


def replace_section(text: str, name: str, section: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text and end in text:
        return text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    return text.rstrip() + "\n\n" + section + "\n"


def revision() -> str:
    """The commit measured, marked when the tree differs from it (the report itself aside)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit (not a git checkout)"
    return f"commit {head}" + (" with uncommitted changes" if changed else "")


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    if argv:
        text = REPORT.read_text() if REPORT.exists() else HEADER
        command = "Command: `.venv/bin/python -m bench {name}`"
    else:  # the whole run: a new report, every section from this one run
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = f"{HEADER}\nThis version is one `make bench` run on {revision()}, from {started}.\n"
        command = "Part of that `make bench` run (rerun alone: `.venv/bin/python -m bench {name}`)"
    for name in names:
        print(f"== bench {name}", flush=True)
        body, load = measured(importlib.import_module(f"bench.bench_{name}").run)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            f"<!-- bench:{name} -->\n## {name}\n\n"
            f"{command.format(name=name)} on {machine()}, {stamp}. {load}\n\n"
            f"{body.strip()}\n<!-- /bench:{name} -->"
        )
        text = replace_section(text, name, section)
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(text)
        print(section, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
