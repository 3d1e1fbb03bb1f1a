"""Video ladder: ours (PyAV, one decode feeding every rung) against the ffmpeg command line.

A 10 s 1080p30 clip with audio (FFmpeg's testsrc2 pattern with film-like noise, H.264 + AAC) is
made with PyAV, then turned into the 360p/720p/1080p HLS ladder twice per round: by our stage
in a child process, and by Debian's ``ffmpeg`` in one process with a split filter and the same
encoder settings (x264 preset, CRF, VBV caps, fixed GOP without scenecut, keyframes forced on
segment boundaries, AAC bitrates, 6 s MPEG-TS segments). Rounds alternate the two; the median
of each is reported. CPU time is each child's own (``os.wait4``). Peak memory is each child's
own ``VmHWM`` (the high-water mark of its address space after exec), sampled every
``PEAK_SAMPLE_SECONDS`` while it runs: ``ru_maxrss`` is not, since Linux carries the forking
parent's high-water mark over into it, so every row read as much as this benchmark process.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import Purpose
from media_grpc.domain.stage import StageJob
from workers.stages import encode_video_ladder
from workers.video.ladder import plan_ladder

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 10
FPS = 30
ROUNDS = 5
#: Before each run, wait (at most this many seconds) for a second in which the CPUs are idle.
QUIET_WAIT_SECONDS = 90
#: Idle share of all CPUs over one second that counts as quiet.
QUIET_IDLE = 0.75
SEGMENT_SECONDS = 6
#: Seconds between two reads of a running child's VmHWM.
PEAK_SAMPLE_SECONDS = 0.01


def _pulled(graph: av.filter.Graph) -> Iterator[av.VideoFrame | av.AudioFrame]:
    while True:
        try:
            yield graph.pull()
        except (av.error.EOFError, av.error.BlockingIOError):
            return


def make_source(path: Path) -> None:
    """The 10 s 1080p30 test clip: H.264 high (x264 ``veryfast``, CRF 20, at most 20 Mb/s, like a
    phone's) + AAC 128k stereo."""
    video_graph = av.filter.Graph()
    src = video_graph.add("testsrc2", f"size=1920x1080:rate={FPS}:duration={SECONDS}")
    noise = video_graph.add("noise", "alls=4:allf=t")
    sink = video_graph.add("buffersink")
    src.link_to(noise)
    noise.link_to(sink)
    video_graph.configure()
    audio_graph = av.filter.Graph()
    sine = audio_graph.add("sine", f"frequency=440:sample_rate=48000:duration={SECONDS}")
    stereo = audio_graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
    asink = audio_graph.add("abuffersink")
    sine.link_to(stereo)
    stereo.link_to(asink)
    audio_graph.configure()
    with av.open(str(path), mode="w", format="mp4") as out:
        video = out.add_stream(
            "libx264",
            rate=FPS,
            options={"preset": "veryfast", "crf": "20", "maxrate": "20M", "bufsize": "40M"},
        )
        video.width, video.height, video.pix_fmt = 1920, 1080, "yuv420p"
        audio = out.add_stream("aac", rate=48_000, layout="stereo")
        audio.bit_rate = 128_000
        for index, frame in enumerate(_pulled(video_graph)):
            assert isinstance(frame, av.VideoFrame)
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for sound in _pulled(audio_graph):
            assert isinstance(sound, av.AudioFrame)
            out.mux(audio.encode(sound))
        out.mux(audio.encode(None))


def ladder_main(argv: list[str]) -> None:
    """Entry point of the child process that runs our stage."""
    source, work = Path(argv[0]), Path(argv[1])
    job = StageJob("bench", "bench", Purpose.POST_VIDEO, "video/mp4", "bench")
    result = encode_video_ladder.run(job, source, work, VideoSettings())
    print(json.dumps([v.name for v in result.variants]))


def ffmpeg_command(source: Path, work: Path, settings: VideoSettings) -> list[str]:
    """One ffmpeg process: decode once, split, scale per rung, one HLS output per rung."""
    plan = plan_ladder(1920, 1080, settings.rungs)
    gop = round(settings.segment_seconds * FPS)
    chains = [f"[0:v]split={len(plan)}" + "".join(f"[s{i}]" for i in range(len(plan)))]
    for i, p in enumerate(plan):
        if (p.width, p.height) == (1920, 1080):
            chains.append(f"[s{i}]null[v{i}]")
        else:
            chains.append(f"[s{i}]scale={p.width}:{p.height}:flags=bicubic[v{i}]")
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-threads", "0"]
    cmd += ["-i", str(source), "-filter_complex", ";".join(chains)]
    for i, p in enumerate(plan):
        rung_dir = work / p.name
        cmd += ["-map", f"[v{i}]", "-map", "0:a"]
        cmd += ["-c:v", "libx264", "-preset", settings.x264_preset, "-profile:v", "high"]
        cmd += ["-crf", str(settings.crf), "-maxrate", str(p.rung.max_bitrate)]
        cmd += ["-bufsize", str(p.rung.bufsize), "-pix_fmt", "yuv420p"]
        cmd += ["-x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0"]
        cmd += ["-force_key_frames", f"expr:gte(t,n_forced*{settings.segment_seconds:g})"]
        cmd += ["-c:a", "aac", "-b:a", str(p.rung.audio_bitrate), "-ar", "48000", "-ac", "2"]
        cmd += ["-f", "hls", "-hls_time", f"{settings.segment_seconds:g}"]
        cmd += ["-hls_playlist_type", "vod", "-hls_segment_type", "mpegts"]
        cmd += ["-hls_flags", "independent_segments", "-start_number", "1"]
        cmd += ["-hls_segment_filename", str(rung_dir / "seg_%05d.ts")]
        cmd += [str(rung_dir / "index.m3u8")]
    return cmd


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float
    max_rss_mib: float
    bytes_by_rung: dict[str, int]
    #: Whether the run started after a quiet second (see ``wait_for_quiet``).
    started_quiet: bool


def _idle_share(seconds: float = 1.0) -> float:
    """Share of CPU time spent idle over ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet() -> bool:
    """Wait until the machine is quiet for a second; False when it never was."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _idle_share() >= QUIET_IDLE:
            return True
    return False


def measure(cmd: list[str], work: Path, subdirs: tuple[str, ...] = ()) -> Measured:
    """Run ``cmd`` into a fresh ``work`` (with ``subdirs``: ffmpeg's hls muxer makes none)."""
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("", *subdirs):
        (work / sub).mkdir(parents=True, exist_ok=True)
    quiet = wait_for_quiet()
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak_kib = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak_kib = max(peak_kib, vm_hwm_kib(process.pid))
        time.sleep(PEAK_SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed with exit code {process.returncode}")
    hls_root = work / "hls" if (work / "hls").is_dir() else work
    sizes = {
        d.name: sum(f.stat().st_size for f in d.glob("*.ts"))
        for d in sorted(hls_root.iterdir())
        if d.is_dir()
    }
    return Measured(wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024, sizes, quiet)


def vm_hwm_kib(pid: int) -> int:
    """The peak resident memory of ``pid``'s own address space so far, in KiB (0 once gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _x264_builds() -> str:
    ours = av.library_versions.get("libavcodec")
    return f"PyAV {av.__version__} (libavcodec {'.'.join(map(str, ours or ()))})"


def _ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0].split(" Copyright")[0]


@dataclass(frozen=True)
class Summary:
    name: str
    wall_median: float
    wall_best: float
    cpu_median: float
    max_rss_mib: float

    @staticmethod
    def of(name: str, runs: list[Measured]) -> Summary:
        return Summary(
            name,
            statistics.median(r.wall for r in runs),
            min(r.wall for r in runs),
            statistics.median(r.cpu for r in runs),
            max(r.max_rss_mib for r in runs),
        )


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def run() -> str:
    settings = VideoSettings()
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        base = Path(tmp)
        source = base / "source_1080p30.mp4"
        make_source(source)
        ours_cmd = [
            sys.executable,
            "-c",
            "import sys; from bench.bench_video import ladder_main; ladder_main(sys.argv[1:])",
            str(source),
            str(base / "ours"),
        ]
        if shutil.which("ffmpeg") is None:
            alone = Summary.of("ours", [measure(ours_cmd, base / "ours") for _ in range(ROUNDS)])
            return (
                "**ffmpeg is missing** (`apt-get install ffmpeg`): no reference, so no ratio.\n\n"
                f"Ours alone: {alone.wall_median:.2f} s wall, {alone.cpu_median:.2f} s CPU, "
                f"{alone.max_rss_mib:.0f} MiB peak, {SECONDS / alone.wall_median:.2f}x realtime."
            )
        ref_cmd = ffmpeg_command(source, base / "ffmpeg", settings)
        rung_names = tuple(p.name for p in plan_ladder(1920, 1080, settings.rungs))
        load_before = _load()
        ours_runs, ref_runs = [], []
        for _ in range(ROUNDS):
            ref_runs.append(measure(ref_cmd, base / "ffmpeg", rung_names))
            ours_runs.append(measure(ours_cmd, base / "ours"))
        load_after = _load()
        source_mib = source.stat().st_size / 2**20
        ffmpeg_version = _ffmpeg_version()
    ours, ref = Summary.of("ours (PyAV stage)", ours_runs), Summary.of("ffmpeg CLI", ref_runs)
    quiet = sum(r.started_quiet for r in ours_runs + ref_runs)
    lines = [
        f"Source: {SECONDS} s 1920x1080 {FPS} fps testsrc2 + noise, H.264 + AAC, "
        f"{source_mib:.1f} MiB. Ladder: 360p, 720p, 1080p HLS, x264 `{settings.x264_preset}` "
        f"CRF {settings.crf} with each rung's VBV cap, {SEGMENT_SECONDS} s segments. "
        f"{ROUNDS} alternating rounds, each run started after a second with the CPUs at least "
        f"{QUIET_IDLE:.0%} idle ({quiet} of {2 * ROUNDS} runs found one within "
        f"{QUIET_WAIT_SECONDS} s); load average (1/5/15 min) {load_before} before, "
        f"{load_after} after.",
        "",
        f"**Wall-time ratio ours / ffmpeg: {ours.wall_median / ref.wall_median:.2f}x median, "
        f"{ours.wall_best / ref.wall_best:.2f}x best-of-{ROUNDS}** (target <= 1.10x). "
        f"CPU-time ratio: {ours.cpu_median / ref.cpu_median:.2f}x.",
        "",
        "| run | wall s (median) | wall s (best) | CPU s (user+sys) | peak RSS MiB "
        "| realtime factor (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in (ours, ref):
        lines.append(
            f"| {row.name} | {row.wall_median:.2f} | {row.wall_best:.2f} | {row.cpu_median:.2f} "
            f"| {row.max_rss_mib:.0f} | {SECONDS / row.wall_median:.2f}x |"
        )
    lines += ["", "| rung | ours segment bytes | ffmpeg segment bytes |", "|---|---:|---:|"]
    for rung in ours_runs[0].bytes_by_rung:
        ours_b = ours_runs[0].bytes_by_rung[rung]
        ref_b = ref_runs[0].bytes_by_rung.get(rung, 0)
        lines.append(f"| {rung} | {ours_b:,} | {ref_b:,} |")
    lines += [
        "",
        f"Ours: {_x264_builds()} with its bundled libx264. Reference: {ffmpeg_version} "
        "(Debian) with Debian's libx264: the two x264 builds differ, which is part of the ratio. "
        "The machine is shared: when the load average is above the core count, wall times "
        "measure the scheduler as much as the code, and the CPU-time ratio is the steadier figure.",
    ]
    return "\n".join(lines)
