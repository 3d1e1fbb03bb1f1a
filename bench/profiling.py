"""Where a server process spends its time: py-spy samples, summarised as a Markdown table.

Samples are taken with ``--gil`` (only the thread holding the GIL), so shares are of the
Python CPU time of the process; the gRPC C core's own threads are not in them. py-spy pauses
the process for each sample (exact stacks), so profiled runs are not timed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: Package markers, checked from the innermost frame outwards: a sample belongs to the
#: innermost frame that is in one of these.
CATEGORIES = (
    ("jwt/", "PyJWT (token verification)"),
    ("botocore/", "botocore (presign, HEAD)"),
    ("boto3/", "botocore (presign, HEAD)"),
    ("urllib3/", "botocore (presign, HEAD)"),
    ("psycopg/", "psycopg (PostgreSQL driver)"),
    ("sqlalchemy/", "SQLAlchemy (ORM, pool, SQL)"),
    ("google/protobuf", "protobuf"),
    ("grpc/", "grpc Python layer"),
    ("logging/", "logging"),
    ("media_grpc/", "media_grpc (ours)"),
    ("media/v1", "protobuf"),
)

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, output: Path, *, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds``; wait on the returned process."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed: pip install 'media-grpc[bench]'")
    return subprocess.Popen(
        [
            tool,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(round(seconds)),
            "--rate",
            str(rate),
            "--gil",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frames(line: str) -> tuple[list[tuple[str, str]], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw)
        frames.append((match["func"], match["file"]) if match else (raw, ""))
    return frames, int(count)


def _category(frames: list[tuple[str, str]]) -> str:
    for _func, file in reversed(frames):
        for marker, name in CATEGORIES:
            if marker in file:
                return name
    return "other (stdlib, threads)"


def summarise(raw: Path, top: int = 10) -> str:
    """Two Markdown tables: time by component, and the hottest functions (self time)."""
    by_category: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        total += count
        by_category[_category(frames)] += count
        func, file = frames[-1]
        by_leaf[f"`{func}` ({_short(file)})"] += count
    if not total:
        return "_py-spy collected no samples._"
    lines = ["| component (innermost frame) | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.0%} |" for name, n in by_category.most_common()]
    lines += ["", "| hottest functions (self time) | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in by_leaf.most_common(top)]
    lines.append(f"\n{total} samples.")
    return "\n".join(lines)


def _short(file: str) -> str:
    for anchor in ("site-packages/", "src/", "lib/python3"):
        if anchor in file:
            return file.split(anchor, 1)[1]
    return Path(file).name
