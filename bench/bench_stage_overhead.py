"""Per-job fixed overhead of running a stage under a wall-clock limit.

Every stage runs in a child process the worker can kill (``workers/stage_pool.py``). What that
costs per job is measured on jobs so small that the overhead is most of the time: a 64x48 PNG
(the image stage: decode, four WebP sizes, a JPEG fallback, BlurHash) and a 0.5 s 160x120 clip
(the video stage: probe, poster set, HLS ladder). Per round, each job runs three ways,
interleaved: the stage called directly in this process (the reference), through a warm
``StagePool`` child (what the worker does), and in a freshly ``spawn``ed child (the cost the
pool avoids; fewer rounds, it takes seconds). The overhead is the median over rounds of
(pool - direct) measured back to back in the same round.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load import background_load, percentile
from media_grpc.config.image import ImageSettings
from media_grpc.config.video import Rung, VideoSettings
from media_grpc.domain.model import Purpose
from media_grpc.domain.stage import StageJob, StageResult
from workers.stage_pool import StagePool
from workers.stage_registry import TimeLimitedStage
from workers.stages import generate_image_variants, process_video

#: Rounds of direct + pool per kind (after one untimed warm-up of each).
ROUNDS = int(os.environ.get("BENCH_OVERHEAD_ROUNDS", "25"))
#: Rounds of the fresh spawned child per kind.
SPAWN_ROUNDS = int(os.environ.get("BENCH_OVERHEAD_SPAWN_ROUNDS", "3"))
#: The fixed overhead per job the pool must stay under, in seconds (issue 15).
TARGET_SECONDS = 0.3
LIMIT_SECONDS = 120.0
HEAD = (
    "| job | direct ms | through the pool ms | overhead ms (median of pool - direct) "
    "| overhead p90 ms | fresh spawned child ms | overhead <= {target:.0f} ms |\n"
    "|---|---|---|---|---|---|---|"
)

_RUNG = Rung(
    name="120p",
    short_side=120,
    video_bitrate=300_000,
    max_bitrate=400_000,
    bufsize=800_000,
    audio_bitrate=64_000,
)


def _tiny_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 48), (10, 120, 200)).save(path, "PNG")


def _half_second_clip(path: Path) -> None:
    import av

    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(15):
            frame = av.VideoFrame(160, 120, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 16 % 256]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _spawned(stage: Callable[..., StageResult], *args: Any) -> StageResult:
    """The stage in a fresh ``spawn`` child, as every video job ran before the pool."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result: StageResult = pool.apply(stage, args)
    return result


def _timed(run: Callable[[Path], object], work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    started = time.perf_counter()
    run(work)
    return time.perf_counter() - started


def _measure(
    name: str,
    stage: Callable[..., StageResult],
    job: StageJob,
    source: Path,
    settings: Any,
    pool: StagePool,
    scratch: Path,
) -> str:
    limited = TimeLimitedStage(pool, stage, settings, LIMIT_SECONDS)
    ways: dict[str, Callable[[Path], object]] = {
        "direct": lambda work: stage(job, source, work, settings),
        "pool": lambda work: limited(job, source, work),
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    for way, run in ways.items():  # warm-up: imports, caches, the child's first job
        _timed(run, scratch / way)
    diffs = []
    for index in range(ROUNDS):
        order = list(ways) if index % 2 == 0 else list(reversed(ways))
        round_times = {way: _timed(ways[way], scratch / way) for way in order}
        for way, seconds in round_times.items():
            times[way].append(seconds)
        diffs.append(round_times["pool"] - round_times["direct"])
    spawn = [
        _timed(lambda work: _spawned(stage, job, source, work, settings), scratch / "spawn")
        for _ in range(SPAWN_ROUNDS)
    ]
    overhead = statistics.median(diffs)
    return (
        f"| {name} | {statistics.median(times['direct']) * 1000:.0f} "
        f"| {statistics.median(times['pool']) * 1000:.0f} | **{overhead * 1000:.0f}** "
        f"| {percentile(diffs, 90) * 1000:.0f} | {statistics.median(spawn) * 1000:.0f} "
        f"| {'met' if overhead <= TARGET_SECONDS else 'missed'} |"
    )


def run() -> str:
    quiet = background_load()
    image_job = StageJob("bench", "bench", Purpose.POST_IMAGE, "image/png", "bench")
    video_job = StageJob("bench", "bench", Purpose.POST_VIDEO, "video/mp4", "bench")
    video_settings = VideoSettings(rungs=(_RUNG,), segment_seconds=1.0, x264_preset="ultrafast")
    pool = StagePool(1)
    started = time.perf_counter()
    pool.start(wait=True)
    warm_up = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Path(tmp)
            png, clip = scratch / "tiny.png", scratch / "half-second.mp4"
            _tiny_png(png)
            _half_second_clip(clip)
            rows = [
                _measure(
                    "image 64x48 PNG",
                    generate_image_variants.run,
                    image_job,
                    png,
                    ImageSettings(),
                    pool,
                    scratch,
                ),
                _measure(
                    "video 0.5 s 160x120",
                    process_video.run,
                    video_job,
                    clip,
                    video_settings,
                    pool,
                    scratch,
                ),
            ]
    finally:
        pool.close()
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = (
        f" **The load average was above the {cores} cores: figures are inflated.**"
        if load > cores
        else ""
    )
    table = "\n".join(rows)
    return f"""
{quiet} Median of {ROUNDS} interleaved rounds per kind (the fresh spawned child: {SPAWN_ROUNDS}).
Starting the pool (the forkserver importing Pillow and PyAV, then one child) took
{warm_up:.1f} s, once per worker process. 1-minute load average at the end: {load:.1f}.{busy}

{HEAD.format(target=TARGET_SECONDS * 1000)}
{table}
"""


if __name__ == "__main__":
    print(run())
    sys.exit(0)
