"""Image ladder: a 12-megapixel JPEG -> WebP at 1200/600/300/150 px, ours against libvips.

Each contender runs in its own child process (``python -m bench.bench_image WORKER SOURCE N``),
so its peak resident memory (``ru_maxrss``) is its own; the child prints its wall times as JSON.
Reference: pyvips (libvips) on the same file, same sizes, same WebP quality and effort, in the
same run; both of its usual ways are measured (the chain also with one thread) and the
fastest row is the reference (on a busy machine libvips' thread pool can lose to one thread).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

#: Source size: 4000x3000 = 12 megapixels, as a phone camera writes.
SOURCE_SIZE = (4000, 3000)
SIZES = [1200, 600, 300, 150]
QUALITY = 80
EFFORT = 4
#: Timed runs per child process (after one untimed warm-up run).
RUNS = 4
#: Child processes per contender, interleaved with the others' so that load from elsewhere on
#: the machine falls on every contender alike.
ROUNDS = 3


def make_source(path: Path) -> None:
    """A photo-like 12 MP JPEG: smooth colour gradients, blotches and fine grain (quality 90)."""
    from PIL import Image

    width, height = SOURCE_SIZE
    red = Image.linear_gradient("L").resize(SOURCE_SIZE)
    green = Image.linear_gradient("L").rotate(90).resize(SOURCE_SIZE)
    blue = Image.radial_gradient("L").resize(SOURCE_SIZE)
    blotches = Image.effect_noise((width // 8, height // 8), 60).resize(
        SOURCE_SIZE, Image.Resampling.BICUBIC
    )
    grain = Image.effect_noise(SOURCE_SIZE, 25)
    texture = Image.merge("RGB", (blotches, grain, blotches))
    photo = Image.blend(Image.merge("RGB", (red, green, blue)), texture, 0.35)
    photo.save(path, "JPEG", quality=90)


# --- contenders (run inside the child process) ------------------------------------------------


def ours(source: Path, out: Path) -> None:
    """The real stage: 4 WebP sizes (no JPEG fallback, no ``full``), EXIF summary and BlurHash
    included: the same ladder libvips makes."""
    from media_grpc.config.image import ImageSettings
    from media_grpc.domain.model import Purpose
    from media_grpc.domain.stage import StageJob
    from workers.stages import generate_image_variants

    settings = ImageSettings(
        post_sizes=SIZES,
        jpeg_fallback_size=0,
        full_size_max=0,
        webp_quality=QUALITY,
        webp_method=EFFORT,
    )
    job = StageJob("bench", "bench", Purpose.POST_IMAGE, "image/jpeg", "bench")
    generate_image_variants.run(job, source, out, settings)


def ours_default(source: Path, out: Path) -> None:
    """The stage with default settings: the 4 WebP sizes, the 1200 px JPEG fallback and the
    clean full-size WebP (``full``, up to 4096 px)."""
    from media_grpc.config.image import ImageSettings
    from media_grpc.domain.model import Purpose
    from media_grpc.domain.stage import StageJob
    from workers.stages import generate_image_variants

    job = StageJob("bench", "bench", Purpose.POST_IMAGE, "image/jpeg", "bench")
    generate_image_variants.run(job, source, out, ImageSettings())


def ours_avif(source: Path, out: Path) -> None:
    """The real stage with ``avif=True``: the 4 WebP sizes plus the same 4 sizes in AVIF."""
    from media_grpc.config.image import ImageSettings
    from media_grpc.domain.model import Purpose
    from media_grpc.domain.stage import StageJob
    from workers.stages import generate_image_variants

    settings = ImageSettings(
        post_sizes=SIZES,
        jpeg_fallback_size=0,
        full_size_max=0,
        webp_quality=QUALITY,
        webp_method=EFFORT,
        avif=True,
    )
    job = StageJob("bench", "bench", Purpose.POST_IMAGE, "image/jpeg", "bench")
    generate_image_variants.run(job, source, out, settings)


def ours_full_decode(source: Path, out: Path) -> None:
    """The same ladder without JPEG draft (decoding all 12 MP): what draft saves."""
    from PIL import Image

    from media_grpc.config.image import ImageSettings
    from workers.image.image_ladder import render_image_variants

    settings = ImageSettings(
        post_sizes=SIZES, jpeg_fallback_size=0, webp_quality=QUALITY, webp_method=EFFORT
    )
    with Image.open(source, formats=["JPEG"]) as image:
        image.load()
        render_image_variants(image, out, settings)


def vips_thumbnail_each(source: Path, out: Path) -> None:
    """libvips' recommended call: ``thumbnail`` from the file per size (shrink-on-load each)."""
    import pyvips

    for size in SIZES:
        image = pyvips.Image.thumbnail(str(source), size)
        image.webpsave(str(out / f"w{size}.webp"), Q=QUALITY, effort=EFFORT, keep=_keep_icc())


def vips_thumbnail_chain(source: Path, out: Path) -> None:
    """One ``thumbnail`` to the largest size, each smaller one from the previous (like ours)."""
    import pyvips

    image = pyvips.Image.thumbnail(str(source), SIZES[0]).copy_memory()
    for index, size in enumerate(SIZES):
        if index:
            image = image.thumbnail_image(size).copy_memory()
        image.webpsave(str(out / f"w{size}.webp"), Q=QUALITY, effort=EFFORT, keep=_keep_icc())


def _keep_icc() -> int:
    import pyvips

    return int(pyvips.enums.ForeignKeep.ICC)


WORKERS: dict[str, Callable[[Path, Path], None]] = {
    "ours": ours,
    "ours_default": ours_default,
    "ours_avif": ours_avif,
    "ours_full_decode": ours_full_decode,
    "vips_thumbnail_each": vips_thumbnail_each,
    "vips_thumbnail_chain": vips_thumbnail_chain,
}


@dataclass
class Measured:
    """One contender's figures: wall times in seconds, memory in KiB, output bytes per file."""

    times: list[float]
    peak_kib: int
    baseline_kib: int
    written: dict[str, int]

    def merge(self, other: Measured) -> Measured:
        """Two child processes' figures as one: all times, higher peak, lower baseline."""
        return Measured(
            self.times + other.times,
            max(self.peak_kib, other.peak_kib),
            min(self.baseline_kib, other.baseline_kib),
            self.written,
        )

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def webp_kib(self) -> float:
        return self._kib(".webp")

    @property
    def avif_kib(self) -> float:
        return self._kib(".avif")

    def _kib(self, extension: str) -> float:
        return sum(n for name, n in self.written.items() if name.endswith(extension)) / 1024


def child(name: str, source: Path, runs: int) -> Measured:
    """Run one contender ``runs`` times (plus a warm-up) in this process."""
    work = WORKERS[name]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        work(source, out)  # warm-up: imports, codec initialisation
        baseline_kib = _proc_status_kib("VmRSS")
        _reset_peak_rss()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            work(source, out)
            times.append(time.perf_counter() - started)
        written = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    return Measured(times, _proc_status_kib("VmHWM"), baseline_kib, written)


def _proc_status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is the timed runs' own."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(worker: str, source: Path, env: dict[str, str]) -> Measured:
    """One child process running ``worker`` RUNS times."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_image", worker, str(source), str(RUNS)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    return Measured(**json.loads(completed.stdout))


#: Rows of the report: name -> (worker, extra environment).
CONTENDERS: dict[str, tuple[str, dict[str, str]]] = {
    **{name: (name, {}) for name in WORKERS},
    "vips_thumbnail_chain (1 thread)": ("vips_thumbnail_chain", {"VIPS_CONCURRENCY": "1"}),
}


TABLE_HEAD = (
    "| contender | median ms | x ref | RSS before MiB | peak RSS MiB | peak - before MiB "
    "| WebP KiB | AVIF KiB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def run() -> str:
    try:
        import pyvips
    except ImportError as e:  # a benchmark-only dependency
        raise SystemExit("bench image needs pyvips: pip install -e '.[bench]'") from e

    results: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "12mp.jpg"
        make_source(source)
        source_kib = source.stat().st_size // 1024
        order = list(CONTENDERS)
        for round_index in range(ROUNDS):
            for name in order[round_index:] + order[:round_index]:
                worker, env = CONTENDERS[name]
                measured = measure(worker, source, env)
                results[name] = results[name].merge(measured) if name in results else measured
        load = os.getloadavg()[0]
    reference = min((n for n in results if n.startswith("vips_")), key=lambda n: results[n].median)
    base = results[reference].median
    ratio = results["ours"].median / base
    rows = "\n".join(
        f"| {name} | {r.median * 1000:.0f} | {r.median / base:.2f} | {r.baseline_kib / 1024:.0f} "
        f"| {r.peak_kib / 1024:.0f} | {(r.peak_kib - r.baseline_kib) / 1024:.0f} "
        f"| {r.webp_kib:.0f} | {f'{r.avif_kib:.0f}' if r.avif_kib else '-'} |"
        for name, r in results.items()
    )
    libvips = ".".join(str(pyvips.version(i)) for i in range(3))
    cores = os.cpu_count() or 1
    busy = (
        f"\nThe machine was shared and busy (load above its {cores} cores): absolute times are"
        " inflated and noisier; the interleaved ratios are the figures to read."
        if load > cores
        else ""
    )
    return f"""
Source: a photo-like {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} JPEG (quality 90, {source_kib} KiB) made
in the run. Ladder: WebP at {", ".join(map(str, SIZES))} px longest side, quality {QUALITY},
effort/method {EFFORT}, written to files. Each figure is the median of {ROUNDS * RUNS} runs:
{ROUNDS} child processes of {RUNS} timed runs (after a warm-up), interleaved between
contenders. Reference: pyvips {pyvips.__version__} with libvips {libvips}, the fastest of its
rows below, here **{reference}**. 1-minute load average at the end: {load:.1f}.{busy}

**ours / pyvips = {ratio:.2f}** (target <= 1.2: {"met" if ratio <= 1.2 else "missed"}).

{TABLE_HEAD}
{rows}

- `ours` is the real stage (`generate_image_variants.run`, JPEG fallback and `full` off): header
  checks, EXIF summary, JPEG draft (DCT-scaled decode at 1/2 here), one Lanczos resize to 1200 px,
  each smaller size from the previous one, and the BlurHash placeholder.
- `ours_default` is the stage as configured by default: the same plus the 1200 px JPEG fallback
  and the clean full-size WebP `full` (decoded without draft, encoded at effort
  `MEDIA_IMAGE__FULL_WEBP_METHOD`, 0 by default). Its WebP KiB
  column counts the WebP files only.
- `ours_avif` is `ours` with `MEDIA_IMAGE__AVIF=true`: the same four sizes also in AVIF (quality
  60, Pillow's own AVIF plugin, libavif with its default encoder speed 6 and threads on all cores).
- `ours_full_decode` is the same ladder decoding all 12 MP (no draft).
- `vips_thumbnail_each` calls `thumbnail` on the file per size; `vips_thumbnail_chain` makes
  1200 px with `thumbnail` and each smaller size from the previous with `thumbnail_image`.
- libvips runs its own thread pool (all cores) unless `VIPS_CONCURRENCY=1`; ours is one thread
  (but for libavif's encoder threads in `ours_avif`).
- Memory is the child process's resident set from `/proc/self/status`: `VmRSS` after the
  warm-up (interpreter, libraries, codec state), then `VmHWM` over the timed runs (reset with
  `/proc/self/clear_refs` before them); "peak - before" is what one ladder adds at its worst.
- "WebP KiB" is the four files' total, a check that both sides encode at a like quality.
"""


if __name__ == "__main__":
    name, source_arg, runs_arg = sys.argv[1:4]
    print(json.dumps(asdict(child(name, Path(source_arg), int(runs_arg)))))
