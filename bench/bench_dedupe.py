"""What a dedupe hit costs the client: the same file uploaded again, to a READY media.

One `media-grpc serve` and one `media-grpc worker` on one stack (PostgreSQL, RabbitMQ, the
strict S3). Each file is uploaded once through the client library and processed to READY by
the worker; then, from one caller, uploads of the same file (`Uploader.upload`: sniff and hash
the file in one read, CreateUploadSession with the sha256, the READY media in the answer)
alternate with plain CreateUploadSession calls (no sha256, the reference) on the same channel.
Target: the hit's median at most 3x the reference's, and 0 bytes sent.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from media.v1 import media_pb2 as pb
from PIL import Image

from bench.load import background_load
from bench.stack import stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient, Progress, Uploader, parse_purpose
from media_grpc.config.auth import AuthSettings

ROUNDS = int(os.environ.get("MEDIA_BENCH_DEDUPE_ROUNDS", "100"))
TARGET_RATIO = 3.0
#: (label, width, height): a small photo and one of about 8 MiB (random pixels, incompressible).
FILES = (("64x48 PNG", 64, 48), ("1700x1650 PNG", 1700, 1650))


class CountingProgress(Progress):
    def __init__(self) -> None:
        self.sent = 0

    def advance(self, n: int) -> None:
        self.sent += n


@dataclass
class Timings:
    """Seconds per call, and bytes sent by the hits."""

    create: list[float] = field(default_factory=list)
    hit: list[float] = field(default_factory=list)
    sent: int = 0
    not_ready: int = 0


def make_file(path: Path, width: int, height: int) -> Path:
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        path, compress_level=1
    )
    return path


def measure(client: MediaClient, path: Path) -> Timings:
    purpose = parse_purpose("post_image")
    first = Uploader(client, wait=True, wait_timeout=120).upload(path, purpose)
    if first.status != pb.STATUS_READY:
        raise RuntimeError(f"the first upload of {path.name} ended {pb.Status.Name(first.status)}")
    reference = pb.CreateUploadSessionRequest(
        purpose=purpose,
        file_name=path.name,
        content_type="image/png",
        size_bytes=path.stat().st_size,
    )
    timings = Timings()
    for _ in range(ROUNDS):
        started = time.perf_counter()
        session = client.stub.CreateUploadSession(reference, metadata=client.metadata(), timeout=30)
        timings.create.append(time.perf_counter() - started)
        # Untimed: the owner's PENDING sessions stay under the cap.
        client.stub.AbortUpload(
            pb.AbortUploadRequest(media_id=session.media_id), metadata=client.metadata()
        )
        progress = CountingProgress()
        started = time.perf_counter()
        media = Uploader(client, progress=progress).upload(path, purpose)
        timings.hit.append(time.perf_counter() - started)
        timings.sent += progress.sent
        timings.not_ready += media.status != pb.STATUS_READY
    return timings


def report(found: dict[str, Timings]) -> str:
    lines = [
        "| file | CreateUploadSession p50, ms | dedupe hit to READY p50, ms "
        f"| hit / create (<= {TARGET_RATIO:g}) | bytes sent by the hits |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, t in found.items():
        create = statistics.median(t.create) * 1000
        hit = statistics.median(t.hit) * 1000
        ratio = hit / create if create else 0.0
        met = ratio <= TARGET_RATIO and t.sent == 0 and t.not_ready == 0
        mark = "met" if met else "**missed**"
        lines.append(f"| {label} | {create:.1f} | {hit:.1f} | {ratio:.2f} ({mark}) | {t.sent} |")
    return "\n".join(lines)


def run() -> str:
    quiet = background_load()
    found: dict[str, Timings] = {}
    with stack(broker=True) as running, tempfile.TemporaryDirectory() as tmp:
        running.add_worker(Path(tmp) / "worker.log")
        token = issue_token(AuthSettings(), "bench-dedupe")
        with MediaClient(f"127.0.0.1:{running.ports[0]}", token) as client:
            for label, width, height in FILES:
                path = make_file(Path(tmp) / f"{width}x{height}.png", width, height)
                found[f"{label}, {path.stat().st_size / 2**20:.2f} MiB"] = measure(client, path)
    return f"""{quiet}

{__doc__}
{ROUNDS} hits and {ROUNDS} references per file, alternating; medians. A hit's time includes
reading and hashing the whole file on the client. The reference is the CreateUploadSession
the file would otherwise get (for the 8 MiB one a multipart session: the server starts the
multipart upload in S3 in the call).

{report(found)}
"""
