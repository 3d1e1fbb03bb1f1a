"""The embedded default (`make run`: SQLite, the embedded S3, the in-process queue) as a user
runs it. It measures the `media-grpc serve` process's memory over three 108 MB uploads and a
restart, and CompleteUpload of a big multipart file against a 1 KiB one on the embedded S3.

References, measured in the same run: the same process's RSS once it serves, before any upload;
CompleteUpload of 1 KiB single-PUT files, interleaved with the big ones.
"""

from __future__ import annotations

import os
import statistics
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import grpc
from media.v1 import media_pb2 as pb

from bench.bench_multipart import FTYP, Timing, p99, small_completions
from bench.load import background_load
from bench.stack import BIN, free_port, process, wait_for_port
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient, Uploader
from media_grpc.config.auth import AuthSettings

#: The uploads whose memory is measured (the issue's 108 MB files).
UPLOAD_BYTES = 108 * 1000 * 1000
UPLOADS = 3
#: The `serve` process's RSS after the uploads and after a restart: at most this (MB).
TARGET_RSS_MB = 350
#: The big file of the completion rows, MiB (MEDIA_BENCH_EMBEDDED_BIG_MIB): 1 GiB by default.
BIG_MIB = int(os.environ.get("MEDIA_BENCH_EMBEDDED_BIG_MIB", "1024"))
BIG_ROUNDS = 2
SMALL_COMPLETIONS = 30
TARGET_COMPLETE_RATIO = 3.0
MB = 1000 * 1000
FRAMES_PER_SECOND = 15


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no VmRSS for {pid}")


def serve_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    env.update(
        MEDIA_DATA_DIR=str(data_dir),
        MEDIA_EMBEDDED_S3_PORT=str(free_port()),
        MEDIA_METRICS_PORT="0",
        MEDIA_LIMITS__COMPLETIONS_PER_SECOND="1000000",
        MEDIA_LIMITS__COMPLETION_BURST="1000000",
        MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND="1000000",
        MEDIA_LIMITS__UPLOAD_SESSION_BURST="1000000",
    )
    return env


@contextmanager
def embedded_serve(data_dir: Path, log: Path) -> Iterator[tuple[int, str]]:
    """`media-grpc serve` with nothing configured but its data directory; yields its pid and
    gRPC address once it answers."""
    port = free_port()
    env = {**serve_env(data_dir), "MEDIA_GRPC_LISTEN": f"127.0.0.1:{port}"}
    with process([str(BIN / "media-grpc"), "serve"], env, log) as child:
        wait_for_port(port, child, timeout=120)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
        yield child.pid, f"127.0.0.1:{port}"


def make_file(path: Path, size: int) -> None:
    """Random bytes behind an MP4 ``ftyp`` box: taken for a video, failed by processing."""
    with path.open("wb") as f:
        f.write(FTYP)
        left = size - len(FTYP)
        while left > 0:
            chunk = os.urandom(min(left, 2**20))
            f.write(chunk)
            left -= len(chunk)


def make_video(path: Path, size: int) -> None:
    """A real 2 s 320x240 H.264 MP4 padded to ``size`` bytes with a trailing ``free`` box (which
    players and probes skip): processed to READY, so the original stays stored."""
    with av.open(str(path), mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FRAMES_PER_SECOND, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        for index in range(2 * FRAMES_PER_SECOND):
            frame = av.VideoFrame(320, 240, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 8 % 256]) * plane.buffer_size)
            frame.pts, frame.time_base = index, Fraction(1, FRAMES_PER_SECOND)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    padding = size - path.stat().st_size
    with path.open("ab") as f:
        f.write(struct.pack(">I4s", padding, b"free"))
        left = padding - 8
        while left > 0:
            chunk = os.urandom(min(left, 2**20))
            f.write(chunk)
            left -= len(chunk)


def upload(address: str, path: Path, user: str, *, wait: bool) -> tuple[pb.Media, float]:
    """The file through our client; the media and CompleteUpload's seconds as it saw them."""
    with MediaClient(address, issue_token(AuthSettings(), user)) as client:
        timing = Timing()
        uploader = Uploader(client, content_type="video/mp4", parallel=4, progress=timing)
        timing.watch(uploader.transfer, client)
        uploader.wait = wait
        media = uploader.upload(path, pb.PURPOSE_POST_VIDEO)
    return media, timing.complete_answered - timing.complete_sent


def memory(work: Path) -> tuple[list[tuple[str, float]], str]:
    """RSS (MB) of `serve` at each step, and the media statuses the uploads ended in."""
    data_dir, path = work / "data", work / "upload.mp4"
    make_video(path, UPLOAD_BYTES)
    steps: list[tuple[str, float]] = []
    statuses = []
    with embedded_serve(data_dir, work / "serve-1.log") as (pid, address):
        steps.append(("reference: serving, before any upload", rss_mb(pid)))
        for n in range(UPLOADS):
            media, _ = upload(address, path, f"bench-embedded-rss-{n}", wait=True)
            statuses.append(pb.Status.Name(media.status))
            steps.append((f"after upload {n + 1} of {UPLOADS} (processing ended)", rss_mb(pid)))
    stored = sum(f.stat().st_size for f in data_dir.rglob("*") if f.is_file()) / MB
    with embedded_serve(data_dir, work / "serve-2.log") as (pid, _address):
        steps.append((f"after a restart, {stored:.0f} MB stored", rss_mb(pid)))
    return steps, ", ".join(statuses)


def completions(work: Path) -> tuple[list[float], list[float]]:
    """CompleteUpload seconds of the big file (each round) and of the 1 KiB files."""
    path = work / "big.mp4"
    make_file(path, BIG_MIB * 2**20)
    big: list[float] = []
    small: list[float] = []
    with embedded_serve(work / "data-completion", work / "serve-3.log") as (_pid, address):
        for n in range(BIG_ROUNDS):
            small += small_completions(address, f"bench-embedded-{n}", SMALL_COMPLETIONS)
            media, seconds = upload(address, path, f"bench-embedded-big-{n}", wait=False)
            if media.status != pb.STATUS_UPLOADED:
                raise RuntimeError(f"the big upload ended {pb.Status.Name(media.status)}")
            big.append(seconds)
    path.unlink()
    return big, small


def run() -> str:
    quiet = background_load()
    with tempfile.TemporaryDirectory() as tmp:
        steps, statuses = memory(Path(tmp))
        (Path(tmp) / "upload.mp4").unlink()
        big, small = completions(Path(tmp))
    reference = steps[0][1]
    rows = "\n".join(f"| {name} | {mb:.0f} | {mb / reference:.2f} |" for name, mb in steps)
    worst = max(mb for _name, mb in steps[1:])
    rss_verdict = "Met" if worst <= TARGET_RSS_MB else "Missed"
    ratio = max(big) / p99(small)
    complete_verdict = "Met" if ratio <= TARGET_COMPLETE_RATIO else "Missed"
    return f"""{__doc__}
{quiet}

Memory: three uploads of a {UPLOAD_BYTES / MB:.0f} MB file (a 2 s H.264 MP4 padded with a
`free` box) through our client, 4 parts in parallel. Each was followed to the end of its
processing by the in-process queue (they ended {statuses}). Then `serve` stopped and started
again on the same data directory.

| `serve` process | RSS MB | x reference |
|---|---:|---:|
{rows}

Target: at most {TARGET_RSS_MB} MB after the uploads and after the restart. Here: at most
{worst:.0f} MB. **{rss_verdict}.**

CompleteUpload with a declared sha256 on the embedded S3 (completion keeps the parts as they
are; the server reads the first 64 KiB). The {BIG_MIB} MiB multipart file: slowest of
{len(big)} ({" / ".join(f"{s * 1000:.0f}" for s in big)} ms). A 1 KiB single PUT: p99 of
{len(small)} interleaved calls {p99(small) * 1000:.1f} ms (median
{statistics.median(small) * 1000:.1f} ms). Ratio {ratio:.1f}x; target <=
{TARGET_COMPLETE_RATIO:.0f}x. **{complete_verdict}.**
"""
