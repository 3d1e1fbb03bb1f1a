"""Multipart upload through our client (`media_grpc.client.Uploader`) against one raw PUT of the
same bytes to the same S3 endpoint (moto), interleaved in the same run.

Ours is measured twice over: the whole upload (CreateUploadSession, the parts in parallel while
the client hashes the file, CompleteUpload with that sha256 and the server's verification), and
the part transfers alone (first part byte sent to last part PUT answered). Then CompleteUpload of
that file (sha256 given) against CompleteUpload of 1 KiB objects, interleaved: completion must
not grow with the file.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import requests
from media.v1 import media_pb2 as pb

from bench.load import background_load
from bench.stack import Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient, Progress, Uploader
from media_grpc.client.transfer import Transfer
from media_grpc.config.auth import AuthSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY

#: File size in MiB (MEDIA_BENCH_MULTIPART_MIB): the issue's 1 GiB by default.
SIZE_MIB = int(os.environ.get("MEDIA_BENCH_MULTIPART_MIB", "1024"))
ROUNDS = 3
#: 1 KiB CompleteUpload calls per round, the reference for the big file's CompleteUpload.
SMALL_COMPLETIONS = int(os.environ.get("MEDIA_BENCH_MULTIPART_SMALL", "30"))
#: CompleteUpload of the big file (sha256 declared) vs of 1 KiB: at most this many times.
TARGET_COMPLETE_RATIO = 3.0
PARALLEL = 4
TARGET_RATIO = 0.9
#: An ISO BMFF `ftyp` box, so the server's sniffing takes the bytes for an MP4 video.
FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


class Timing(Progress):
    """Records when the first part byte went out and when the last part PUT was answered."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        with self._lock:
            self.first = self.first or time.perf_counter()

    def watch(self, transfer: Transfer) -> None:
        put = transfer.put

        def answered(*args: Any, **kwargs: Any) -> str:
            etag = put(*args, **kwargs)
            with self._lock:
                self.last = time.perf_counter()
            return etag

        transfer.put = answered  # type: ignore[method-assign]


def make_file(path: Path) -> None:
    with path.open("wb") as f:
        f.write(FTYP)
        for _ in range(SIZE_MIB):
            f.write(os.urandom(2**20))


def s3_client(running: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=running.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=EMBEDDED_ACCESS_KEY,
        aws_secret_access_key=EMBEDDED_SECRET_KEY,
    )


def raw_multipart_complete(running: Stack, data: bytes, n: int) -> float:
    """Seconds S3 itself takes to assemble ``data``'s parts (CompleteMultipartUpload alone)."""
    s3, key = s3_client(running), f"raw-multipart/{n}.mp4"
    part_size = UploadSettings().part_size_bytes
    upload_id = s3.create_multipart_upload(Bucket=running.bucket, Key=key)["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        answer = s3.upload_part(
            Bucket=running.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data[offset : offset + part_size],
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    started = time.perf_counter()
    s3.complete_multipart_upload(
        Bucket=running.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    elapsed = time.perf_counter() - started
    s3.delete_object(Bucket=running.bucket, Key=key)
    return elapsed


def raw_put(running: Stack, data: bytes, n: int) -> float:
    """Seconds for one presigned PUT of ``data`` to the same endpoint and bucket."""
    s3 = s3_client(running)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": running.bucket, "Key": f"raw/{n}.mp4"}, ExpiresIn=900
    )
    started = time.perf_counter()
    requests.put(url, data=data, timeout=600).raise_for_status()
    elapsed = time.perf_counter() - started
    s3.delete_object(Bucket=running.bucket, Key=f"raw/{n}.mp4")
    return elapsed


def ours(running: Stack, path: Path, n: int) -> tuple[float, float, float, float]:
    """Seconds for the whole upload, before the first part byte (the session), the part
    transfers (first byte sent to last part answered), and after them (CompleteUpload)."""
    token = issue_token(AuthSettings(), f"bench-multipart-{n}")
    client = MediaClient(f"127.0.0.1:{running.ports[0]}", token)
    timing = Timing()
    uploader = Uploader(client, content_type="video/mp4", parallel=PARALLEL, progress=timing)
    timing.watch(uploader.transfer)
    uploader.wait = False
    started = time.perf_counter()
    media = uploader.upload(path, pb.PURPOSE_POST_VIDEO)
    ended = time.perf_counter()
    if media.status != pb.STATUS_UPLOADED:
        raise RuntimeError(f"upload ended {pb.Status.Name(media.status)}")
    return (
        ended - started,
        timing.first - started,
        timing.last - timing.first,
        ended - timing.last,
    )


def small_completions(running: Stack, n: int) -> list[float]:
    """Seconds of each CompleteUpload of a 1 KiB single-PUT video with a declared sha256."""
    data = FTYP + bytes(1024 - len(FTYP))
    digest = hashlib.sha256(data).hexdigest()
    token = issue_token(AuthSettings(), f"bench-multipart-small-{n}")
    seconds: list[float] = []
    with MediaClient(f"127.0.0.1:{running.ports[0]}", token) as client:
        for _ in range(SMALL_COMPLETIONS):
            session = client.stub.CreateUploadSession(
                pb.CreateUploadSessionRequest(
                    purpose=pb.PURPOSE_POST_VIDEO,
                    file_name="small.mp4",
                    content_type="video/mp4",
                    size_bytes=len(data),
                    sha256=digest,
                ),
                metadata=client.metadata(),
            )
            put = session.single_put
            requests.put(put.url, data=data, headers=dict(put.headers), timeout=60)
            started = time.perf_counter()
            client.stub.CompleteUpload(
                pb.CompleteUploadRequest(media_id=session.media_id), metadata=client.metadata()
            )
            seconds.append(time.perf_counter() - started)
    return seconds


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def measure(running: Stack, work: Path, quiet: str) -> str:
    path = work / "video.mp4"
    make_file(path)
    data = path.read_bytes()
    mib = len(data) / 2**20
    raw: list[float] = []
    whole: list[float] = []
    before: list[float] = []
    parts: list[float] = []
    after: list[float] = []
    small: list[float] = []
    assemblies: list[float] = []
    for n in range(ROUNDS):  # the references interleaved with ours, round by round
        small += small_completions(running, n)
        raw.append(raw_put(running, data, n))
        for into, seconds in zip(
            (whole, before, parts, after), ours(running, path, n), strict=True
        ):
            into.append(seconds)
        assemblies.append(raw_multipart_complete(running, data, n))
    reference = mib / statistics.median(raw)
    assembly = statistics.median(assemblies)

    def row(name: str, seconds: list[float]) -> str:
        rate = mib / statistics.median(seconds)
        return (
            f"| {name} | {statistics.median(seconds):.2f} | {rate:,.0f} | {rate / reference:.2f} |"
        )

    ratio = mib / statistics.median(whole) / reference
    verdict = "Met" if ratio >= TARGET_RATIO else "Missed"
    big_worst, small_p99 = max(after), p99(small)
    complete_ratio = big_worst / small_p99
    complete_verdict = "Met" if complete_ratio <= TARGET_COMPLETE_RATIO else "Missed"
    return f"""{__doc__}
{mib:.0f} MiB file, parts of the server's default size, {PARALLEL} in parallel; medians of
{ROUNDS} interleaved rounds. The server has a broker configured and no worker runs, so
nothing processes the uploads meanwhile. {quiet}

| upload | seconds | MiB/s | x raw PUT |
|---|---:|---:|---:|
{row("reference: one raw presigned PUT of the same bytes", raw)}
{row("ours: whole upload (session, parts hashed as sent, complete)", whole)}
{row("ours: part transfers alone", parts)}

Where the rest of the whole upload goes (median seconds): before the first part byte
(CreateUploadSession; files of 64 MiB or more are hashed while their parts are sent)
{statistics.median(before):.2f};
after the last part was answered (CompleteUpload: S3 assembles the parts, the server reads the
object's first 64 KiB; the declared SHA-256 is the job's) {statistics.median(after):.2f}, of
which this S3 endpoint's own CompleteMultipartUpload of the same parts (boto3, measured alone in
the same rounds) is {assembly:.2f}.

Target: ours >= {TARGET_RATIO}x one raw PUT. Here: {ratio:.2f}x for the whole upload,
{mib / statistics.median(parts) / reference:.2f}x for the part transfers. **{verdict}.**

CompleteUpload with a declared sha256 (the job checks it; completion reads the first 64 KiB):
the {mib:.0f} MiB multipart file, slowest of {len(after)} (assembly included)
{big_worst * 1000:.0f} ms; a 1 KiB single PUT, p99 of {len(small)} interleaved calls
{small_p99 * 1000:.1f} ms (median {statistics.median(small) * 1000:.1f} ms). Ratio
{complete_ratio:.1f}x; target <= {TARGET_COMPLETE_RATIO:.0f}x (for a 1 GiB file).
**{complete_verdict}.** Without this
S3 endpoint's own assembly of the parts (median {assembly * 1000:.0f} ms, above), the big
file's slowest completion is {(big_worst - assembly) * 1000:.0f} ms.
"""


def run() -> str:
    quiet = background_load()
    with tempfile.TemporaryDirectory() as tmp, stack(servers=1, broker=True) as running:
        return measure(running, Path(tmp), quiet)
