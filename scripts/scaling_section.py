"""Write the figures of docs/operations.md's Scaling section from docs/benchmarks.md.

`make scaling-figures` runs it after a `make bench`; tests/unit/test_scaling_section.py fails
when the section no longer matches the benchmark figures. Every number in the section comes
from a figure of docs/benchmarks.md or from one of the assumptions named below.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
OPERATIONS = ROOT / "docs" / "operations.md"
BEGIN, END = "<!-- scaling:figures -->", "<!-- /scaling:figures -->"

#: The worked example: uploads a day, and the length of each video in seconds.
PHOTOS_PER_DAY = 100_000
VIDEOS_PER_DAY = 2_000
VIDEO_SECONDS = 60
#: Busiest hour against the day's average (an assumption: traffic follows the day).
PEAK_FACTOR = 3.0
#: Share of a core the autoscalers aim for (the HPA's 70%), leaving room for bursts.
TARGET_UTILISATION = 0.7
#: Cores a worker pod requests (deploy/kubernetes/base/worker.yaml).
WORKER_POD_CORES = 2


@dataclass(frozen=True)
class Figures:
    commit: str
    when: str
    session_server_ms: float
    session_postgres_ms: float
    complete_server_ms: float
    complete_postgres_ms: float
    photo_job_ms: float
    video_source_seconds: float
    video_cpu_seconds: float


def _search(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    if found is None:
        raise ValueError(f"docs/benchmarks.md has no match for {pattern!r}")
    return found


def read_figures(text: str) -> Figures:
    run = _search(r"run on commit (\w+), from ([\d-]+ [\d:]+ UTC)", text)
    cpu = r"- {rpc}, 1 server process\(es\), 16 callers: CPU per call ([\d.]+) ms in the server, ([\d.]+) ms in PostgreSQL"  # noqa: E501
    session = _search(cpu.format(rpc="CreateUploadSession"), text)
    complete = _search(cpu.format(rpc="CompleteUpload"), text)
    job = _search(
        r"\| defaults: 12 MP JPEG, job taken to READY in the worker \| \d+ \| ([\d.,]+) \|", text
    )
    source = _search(r"Source: (\d+) s \d+x\d+", text)
    video = _search(r"\| ours \(PyAV stage\) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \|", text)
    return Figures(
        commit=run.group(1),
        when=run.group(2),
        session_server_ms=float(session.group(1)),
        session_postgres_ms=float(session.group(2)),
        complete_server_ms=float(complete.group(1)),
        complete_postgres_ms=float(complete.group(2)),
        photo_job_ms=float(job.group(1).replace(",", "")),
        video_source_seconds=float(source.group(1)),
        video_cpu_seconds=float(video.group(1)),
    )


def render(f: Figures) -> str:
    """The section's figures as Markdown, between BEGIN and END."""
    upload_ms = f.session_server_ms + f.complete_server_ms
    upload_pg_ms = f.session_postgres_ms + f.complete_postgres_ms
    photo_s = f.photo_job_ms / 1000
    video_cpu = f.video_cpu_seconds / f.video_source_seconds  # core-seconds per video second
    photo_hours = PHOTOS_PER_DAY * photo_s / 3600
    video_hours = VIDEOS_PER_DAY * VIDEO_SECONDS * video_cpu / 3600
    average = (photo_hours + video_hours) / 24
    peak = average * PEAK_FACTOR / TARGET_UTILISATION
    pods = -(-peak // WORKER_POD_CORES)
    uploads = (PHOTOS_PER_DAY + VIDEOS_PER_DAY) / 86_400
    rows = [
        (
            "uploads per server core",
            f"**{1000 / upload_ms:.0f}/s**",
            f"`rpc`, one server process, 16 callers: {f.session_server_ms:g} ms server CPU per "
            f"CreateUploadSession + {f.complete_server_ms:g} ms per CompleteUpload = "
            f"{upload_ms:.2f} ms per upload",
        ),
        (
            "uploads per PostgreSQL core",
            f"{1000 / upload_pg_ms:.0f}/s",
            f"the same rows: {f.session_postgres_ms:g} + {f.complete_postgres_ms:g} = "
            f"{upload_pg_ms:.2f} ms of PostgreSQL CPU per upload",
        ),
        (
            "photos per worker core",
            f"**{1 / photo_s:.2f}/s** ({3600 / photo_s:,.0f} an hour)",
            f"`pipeline`: a 12-megapixel JPEG, job taken to READY in the worker, "
            f"{f.photo_job_ms:g} ms p50 (download, the one-threaded image stage with the default "
            "outputs, uploads, commit)",
        ),
        (
            "video seconds per worker core",
            f"**{1 / video_cpu:.2f} s/s**",
            f"`video`: {f.video_cpu_seconds:g} CPU s for {f.video_source_seconds:g} s of "
            f"1080p30 into the 360p/720p/1080p ladder = {video_cpu:.2f} core-seconds per "
            "video second",
        ),
    ]
    lines = [
        BEGIN,
        f"Figures of the `make bench` run on commit {f.commit} ({f.when}), docs/benchmarks.md, "
        "on a",
        "2-core machine; `make scaling-figures` rewrites this part from it "
        "(scripts/scaling_section.py).",
        "",
        "| per core | figure | from |",
        "| --- | ---: | --- |",
        *(f"| {what} | {figure} | {source} |" for what, figure, source in rows),
        "",
        f"**Worked example**: {PHOTOS_PER_DAY:,} photos and {VIDEOS_PER_DAY:,} one-minute "
        "videos a day.",
        "",
        f"- Photos: {PHOTOS_PER_DAY:,} x {photo_s:.3f} s = {photo_hours:,.1f} core-hours a day.",
        f"- Videos: {VIDEOS_PER_DAY:,} x {VIDEO_SECONDS} s x {video_cpu:.2f} = "
        f"{video_hours:,.1f} core-hours a day.",
        f"- Together {photo_hours + video_hours:,.1f} core-hours a day: "
        f"**{average:.1f} worker cores** on average.",
        f"  With the busiest hour at {PEAK_FACTOR:g}x the average and cores kept "
        f"{TARGET_UTILISATION:.0%} busy,",
        f"  plan **{peak:.1f} worker cores** at the peak: {pods:.0f} worker pods of "
        f"{WORKER_POD_CORES} cores",
        "  (KEDA adds them as the queues grow and removes them after).",
        f"- A one-minute video costs as much worker CPU as "
        f"{VIDEO_SECONDS * video_cpu / photo_s:.0f} photos.",
        f"- Servers: {uploads:.2f} uploads/s on average, {uploads * PEAK_FACTOR:.2f} at the peak,",
        f"  {uploads * PEAK_FACTOR * upload_ms / 1000:.2f} of a server core: the two servers "
        "kept for availability are idle",
        "  most of the time; WatchMedia streams and GetMedia reads add to that, CPU tells.",
        END,
    ]
    return "\n".join(lines)


def rewrite(operations: str, section: str) -> str:
    start, end = operations.index(BEGIN), operations.index(END) + len(END)
    return operations[:start] + section + operations[end:]


def main() -> int:
    section = render(read_figures(BENCHMARKS.read_text()))
    OPERATIONS.write_text(rewrite(OPERATIONS.read_text(), section))
    print(f"docs/operations.md: Scaling figures written from {BENCHMARKS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
