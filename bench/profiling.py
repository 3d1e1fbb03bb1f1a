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


def record(
    pid: int, seconds: float, output: Path, *, rate: int = 100, every_thread: bool = False
) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds``; wait on the returned process (or interrupt it
    with SIGINT: it writes what it has).

    ``every_thread``: every thread, waiting ones included (``--idle``), one stack per thread,
    without pausing the process (``--nonblocking``): where a call's wall time goes, which
    ``time_within`` reads.
    """
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed: pip install 'media-grpc[bench]'")
    which = ["--idle", "--threads", "--nonblocking"] if every_thread else ["--gil"]
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
            *which,
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


Categories = tuple[tuple[str, str], ...]


def _category(frames: list[tuple[str, str]], categories: Categories = CATEGORIES) -> str:
    for _func, file in reversed(frames):
        for marker, name in categories:
            if marker in file:
                return name
    return "other (stdlib, threads)"


def _counts(
    raw: Path, categories: Categories = CATEGORIES
) -> tuple[Counter[str], Counter[str], int]:
    by_category: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        total += count
        by_category[_category(frames, categories)] += count
        func, file = frames[-1]
        by_leaf[f"`{func}` ({_short(file)})"] += count
    return by_category, by_leaf, total


def category_shares(raw: Path) -> dict[str, float]:
    """Each component's share (0..1) of the samples, largest first; empty without samples."""
    by_category, _leaves, total = _counts(raw)
    return {name: n / total for name, n in by_category.most_common()} if total else {}


def summarise(raw: Path, top: int = 10, categories: Categories = CATEGORIES) -> str:
    """Two Markdown tables: time by component (``categories``: path markers and names, the
    innermost matching frame wins), and the hottest functions (self time)."""
    by_category, by_leaf, total = _counts(raw, categories)
    if not total:
        return "_py-spy collected no samples._"
    lines = ["| component (innermost frame) | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.0%} |" for name, n in by_category.most_common()]
    lines += ["", "| hottest functions (self time) | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in by_leaf.most_common(top)]
    lines.append(f"\n{total} samples.")
    return "\n".join(lines)


def time_within(
    raw: Path, within: str, parts: tuple[tuple[str, str], ...], *, rate: int = 100
) -> dict[str, float]:
    """Seconds of the samples (a ``record(every_thread=True)`` output) whose stack passes
    through a file whose path contains ``within``, by the outermost frame below it that
    matches one of ``parts`` (a function's name without its class, and a path fragment, e.g.
    ``("read_start", "s3_reads.py")``), named by the function; "other" for the rest."""
    seconds: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        inside = [i for i, (_f, file) in enumerate(frames) if within in file]
        if not inside:
            continue
        below = frames[inside[0] + 1 :]
        found = next(
            (
                name
                for func, file in below
                for name, path in parts
                if func.rpartition(".")[2] == name and path in file
            ),
            "other",
        )
        seconds[found] += count / rate
    return dict(seconds)


def _short(file: str) -> str:
    for anchor in ("site-packages/", "src/", "lib/python3"):
        if anchor in file:
            return file.split(anchor, 1)[1]
    return Path(file).name
