"""Multipart upload through our client (`media_grpc.client.Uploader`) against one raw PUT of the
same bytes to the same S3 endpoint (the strict S3, Ceph's RADOS Gateway), interleaved in the
same run.

Ours is measured twice over. First the whole upload: CreateUploadSession, the parts in parallel
while the client hashes the file, CompleteUpload with that sha256 and the server's verification.
Then the part transfers alone (first part byte sent to last part PUT answered). Its completion
(last part answered to CompleteUpload returned) is set against the storage calls CompleteUpload
makes, each sent alone with boto3 to the same endpoint in the same rounds. It is also set against
CompleteUpload of 1 KiB objects, interleaved: completion must not grow with the file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from media.v1 import media_pb2 as pb

from bench import profiling
from bench.client_profile import profiled_client
from bench.load import background_load
from bench.multipart_completion import (
    Ours,
    Round,
    completion_report,
    completion_verdict,
    p99,
    parts_verdict,
)
from bench.multipart_reference import (
    COMPLETION_CALLS,
    completion_calls,
    delete_big_objects,
    logged_durations,
    raw_parts,
    raw_put,
)
from bench.stack import Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient, Progress, Uploader
from media_grpc.client.hashing import HASH_WHILE_SENDING_BYTES
from media_grpc.client.transfer import Transfer
from media_grpc.config.auth import AuthSettings

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
    """Records when the first part byte went out, when the last part PUT was answered, and
    how long the CompleteUpload call took as the client saw it."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0
        self.complete_sent = 0.0
        self.complete_answered = 0.0
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        with self._lock:
            self.first = self.first or time.perf_counter()

    def watch(self, transfer: Transfer, client: MediaClient) -> None:
        put, complete = transfer.put, client.stub.CompleteUpload

        def answered(*args: Any, **kwargs: Any) -> str:
            etag = put(*args, **kwargs)
            with self._lock:
                self.last = time.perf_counter()
            return etag

        def completed(*args: Any, **kwargs: Any) -> Any:
            self.complete_sent = time.perf_counter()
            answer = complete(*args, **kwargs)
            self.complete_answered = time.perf_counter()
            return answer

        transfer.put = answered  # type: ignore[method-assign]
        client.stub.CompleteUpload = completed  # type: ignore[assignment]


def make_file(path: Path) -> None:
    with path.open("wb") as f:
        f.write(FTYP)
        for _ in range(SIZE_MIB):
            f.write(os.urandom(2**20))


def ours(running: Stack, path: Path, n: int) -> Ours:
    token = issue_token(AuthSettings(), f"bench-multipart-{n}")
    client = MediaClient(f"127.0.0.1:{running.ports[0]}", token)
    timing = Timing()
    # Hashed while sent, as this section describes (the default hashes first, for dedupe: one
    # more read of the file before the parts, about 1 s per GiB here).
    uploader = Uploader(
        client,
        content_type="video/mp4",
        parallel=PARALLEL,
        progress=timing,
        hash_while_sending_bytes=HASH_WHILE_SENDING_BYTES,
    )
    timing.watch(uploader.transfer, client)
    uploader.wait = False
    started = time.perf_counter()
    media = uploader.upload(path, pb.PURPOSE_POST_VIDEO)
    ended = time.perf_counter()
    if media.status != pb.STATUS_UPLOADED:
        raise RuntimeError(f"upload ended {pb.Status.Name(media.status)}")
    return Ours(
        media_id=media.id,
        whole=ended - started,
        before=timing.first - started,
        parts=timing.last - timing.first,
        after=ended - timing.last,
        waited=timing.complete_sent - timing.last,
    )


#: Where the server's CompleteUpload handler spends its time, read from py-spy: the function
#: (and a fragment of its file) below service/completion.py, and what it stands for.
HANDLER_PARTS = {
    ("list_parts", "s3_multipart.py"): COMPLETION_CALLS[0],
    ("complete_multipart_upload", "s3_multipart.py"): COMPLETION_CALLS[1],
    ("read_start", "s3_reads.py"): COMPLETION_CALLS[2],
    ("load_visible", "service/context.py"): "PostgreSQL: the media read",
    ("_mark_uploaded", "service/completion.py"): "PostgreSQL: UPLOADED and its job queued",
}
PROFILE_RATE = 100


def profiled_completion(running: Stack, work: Path, path: Path) -> str:
    """One more upload through ours, not timed, with py-spy on the server (every thread,
    waiting ones included, without pausing it): the handler's time by what it waited on."""
    if profiling.py_spy() is None:
        return "_py-spy is not installed (`make bench` installs it): no profile of the call._"
    raw = work / "completion-profile.txt"
    sampler = profiling.record(
        running.servers[0].pid, 600, raw, rate=PROFILE_RATE, every_thread=True
    )
    try:
        time.sleep(0.5)  # attached before the upload starts, so that the whole call is seen
        upload = ours(running, path, ROUNDS)
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
    logged = logged_durations(work / "server.log", "CompleteUpload")[upload.media_id]
    found = profiling.time_within(
        raw, "service/completion.py", tuple(HANDLER_PARTS), rate=PROFILE_RATE
    )
    labels = {func: label for (func, _file), label in HANDLER_PARTS.items()}
    rows = [
        f"| {labels.get(func, 'the rest of service/completion.py and below')} | {sec:.2f} |"
        for func, sec in sorted(found.items(), key=lambda item: -item[1])
    ]
    storage = sum(found.get(func, 0.0) for func, _file in list(HANDLER_PARTS)[:3])
    return f"""The server's own call, seen from inside: py-spy ({PROFILE_RATE} samples/s, every
thread, waiting included, the process not paused) on the server during one more upload of the
same file after the timed rounds (not timed). It counts the samples of the CompleteUpload
handler (below service/completion.py) by what it was in (a part with no sample took under
{1000 / PROFILE_RATE:.0f} ms):

| in the handler | seconds |
|---|---:|
{chr(10).join(rows)}

That call logged {logged:.2f} s; the samples cover {sum(found.values()):.2f} s of it, of which
the three storage calls {storage:.2f} s and everything else in the handler (PostgreSQL
included) {(sum(found.values()) - storage) * 1000:.0f} ms."""


def small_completions(address: str, user: str, count: int) -> list[float]:
    """Seconds of each of ``count`` CompleteUpload calls of a 1 KiB single-PUT video with a
    declared sha256, as ``user`` (also the embedded section's reference)."""
    data = FTYP + bytes(1024 - len(FTYP))
    digest = hashlib.sha256(data).hexdigest()
    seconds: list[float] = []
    with MediaClient(address, issue_token(AuthSettings(), user)) as client:
        for _ in range(count):
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


def rounds(
    running: Stack, work: Path, path: Path
) -> tuple[list[Round], list[float], list[float], list[float]]:
    """The rounds, each with its 1 KiB completions and raw PUT; the storage calls alone go
    after ours in even rounds and before it in odd ones, so that neither always follows the
    other. One completion of the storage calls alone goes first, unmeasured: the endpoint's
    first assembly of a big object in a fresh process is not what either side is about."""
    data = path.read_bytes()
    completion_calls(running, data, -1)
    measured: list[tuple[Ours, dict[str, float]]] = []
    raw: list[float] = []
    parts: list[float] = []
    small: list[float] = []
    for n in range(ROUNDS):
        small += small_completions(
            f"127.0.0.1:{running.ports[0]}", f"bench-multipart-small-{n}", SMALL_COMPLETIONS
        )
        raw.append(raw_put(running, data, n))
        parts.append(raw_parts(running, data, n, PARALLEL))
        if n % 2:
            calls = completion_calls(running, data, n)
            measured.append((ours(running, path, n), calls))
        else:
            upload = ours(running, path, n)
            measured.append((upload, completion_calls(running, data, n)))
        delete_big_objects(running)
    logged = logged_durations(work / "server.log", "CompleteUpload")
    return [Round(o, logged[o.media_id], calls) for o, calls in measured], raw, parts, small


def measure(running: Stack, work: Path, quiet: str) -> str:
    path = work / "video.mp4"
    make_file(path)
    mib = path.stat().st_size / 2**20
    done, raw, raw_part_puts, small = rounds(running, work, path)
    profile = profiled_completion(running, work, path)
    client = profiled_client(lambda: ours(running, path, ROUNDS + 1), work)
    reference = mib / statistics.median(raw)

    def median(seconds: list[float]) -> float:
        return statistics.median(seconds)

    def row(name: str, seconds: list[float]) -> str:
        rate = mib / median(seconds)
        return f"| {name} | {median(seconds):.2f} | {rate:,.0f} | {rate / reference:.2f} |"

    whole = [r.ours.whole for r in done]
    parts = [r.ours.parts for r in done]
    after = [r.ours.after for r in done]
    ratio = mib / median(whole) / reference
    verdict = "Met" if ratio >= TARGET_RATIO else "Missed"
    small_p99 = p99(small)
    beyond = median([r.beyond for r in done])
    return f"""{__doc__}
{mib:.0f} MiB file, parts of the server's default size, {PARALLEL} in parallel; medians of
{ROUNDS} interleaved rounds. The server has a broker configured and no worker runs, so
nothing processes the uploads meanwhile. {quiet}

| upload | seconds | MiB/s | x raw PUT |
|---|---:|---:|---:|
{row("reference: one raw presigned PUT of the same bytes", raw)}
{row("ours: whole upload (session, parts hashed as sent, complete)", whole)}
{row("ours: part transfers alone", parts)}
{row(f"reference: the same parts PUT raw, {PARALLEL} in parallel, from memory", raw_part_puts)}

Where the rest of the whole upload goes (median seconds). Before the first part byte
(CreateUploadSession; files of 64 MiB or more are hashed while their parts are sent)
{median([r.ours.before for r in done]):.2f}. After the last part was answered (CompleteUpload:
S3 assembles the parts, the server reads the object's first 64 KiB; the declared SHA-256 is
the job's) {median(after):.2f}.

Target: ours >= {TARGET_RATIO}x one raw PUT. Here: {ratio:.2f}x for the whole upload,
{mib / median(parts) / reference:.2f}x for the part transfers. **{verdict}.**

{parts_verdict(median(whole), median(parts), median(raw_part_puts), median(raw))}

Our client's Python CPU during one more upload of the same file (not timed): py-spy `--gil` on
the benchmark's own process, each sample by the innermost frame of a known part:

{client}

{completion_report(done, small)}

{profile}

{completion_verdict([r.ours.complete_call for r in done], small, TARGET_COMPLETE_RATIO, mib)}
The job checks the sha256; completion reads the first 64 KiB. From the last part's answer, the
upload also waited for the client's own sha256 thread (median
{median([r.ours.waited for r in done]) * 1000:.0f} ms, slowest {max(after) * 1000:.0f} ms in
all). Beyond its storage calls (median of the per-round differences, above) the big file's
completion takes {beyond * 1000:+.0f} ms, against the 1 KiB p99 of {small_p99 * 1000:.1f} ms.
"""


def run() -> str:
    quiet = background_load()
    with tempfile.TemporaryDirectory() as tmp, stack(broker=True, servers=0) as running:
        running.add_server(log=Path(tmp) / "server.log")
        return measure(running, Path(tmp), quiet)
