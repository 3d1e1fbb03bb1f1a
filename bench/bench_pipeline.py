"""Upload to READY with every real part: gRPC, PostgreSQL, the outbox relay, RabbitMQ, a
`media-grpc worker` process and the strict S3 (Ceph's RADOS Gateway).

Two measurements, uploads one after the other (latency, not throughput):

* a 12-megapixel JPEG (the image benchmark's photo-like source), CreateUploadSession -> PUT
  -> CompleteUpload -> READY; reference: the image stage alone on the same file, in this
  process, run between the uploads (one run after every fifth);
* the outbox's own overhead: CompleteUpload answered -> the worker has taken the job (claimed
  the media, PROCESSING), for tiny PNGs. Reference: one message published (with confirm) and
  consumed on the same RabbitMQ (persistent, through a quorum queue, as jobs travel), one
  after each tiny upload.

Worker-side moments come from the worker's log lines (millisecond timestamps, same clock).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
import pika
import pika.exceptions
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from bench import bench_image
from bench.load import background_load, percentile
from bench.stack import BROKER_URL, Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings

#: Uploads of the 12 MP JPEG (MEDIA_BENCH_PIPELINE_UPLOADS).
UPLOADS = int(os.environ.get("MEDIA_BENCH_PIPELINE_UPLOADS", "50"))
#: Tiny uploads for the outbox overhead.
SMALL_UPLOADS = int(os.environ.get("MEDIA_BENCH_OUTBOX_UPLOADS", "100"))
TARGET_P50_S = 1.0
_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*job \S+: "
    r"(?:running \w+ stage for media (?P<started>\S+)|media (?P<ready>\S+) READY)"
)


@dataclass(frozen=True)
class Upload:
    """One upload's moments, epoch seconds."""

    media_id: str
    started: float
    completed: float
    seen_ready: float


class Uploader:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = media_pb2_grpc.MediaServiceStub(channel)
        self.settings = AuthSettings()
        self.count = 0

    def upload(self, data: bytes, content_type: str) -> Upload:
        """Create, PUT, complete, watch until READY."""
        self.count += 1
        auth = [("authorization", f"Bearer {issue_token(self.settings, f'bench-{self.count}')}")]
        started = time.time()
        session = self.stub.CreateUploadSession(
            pb.CreateUploadSessionRequest(
                purpose=pb.PURPOSE_POST_IMAGE,
                file_name="photo.jpg" if content_type == "image/jpeg" else "dot.png",
                content_type=content_type,
                size_bytes=len(data),
            ),
            metadata=auth,
            timeout=30,
        )
        requests.put(
            session.single_put.url,
            data=data,
            headers=dict(session.single_put.headers),
            timeout=60,
        ).raise_for_status()
        self.stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id), metadata=auth, timeout=60
        )
        completed = time.time()
        for answer in self.stub.WatchMedia(
            pb.WatchMediaRequest(media_id=session.media_id), metadata=auth, timeout=120
        ):
            if answer.media.status == pb.STATUS_READY:
                return Upload(session.media_id, started, completed, time.time())
            if answer.media.status == pb.STATUS_FAILED:
                raise RuntimeError(f"media {session.media_id} FAILED: {answer.media.failure}")
        raise RuntimeError(f"WatchMedia ended before media {session.media_id} was READY")


def worker_moments(log: Path) -> tuple[dict[str, float], dict[str, float]]:
    """When the worker took each media's job and when it made it READY (epoch seconds)."""
    taken: dict[str, float] = {}
    ready: dict[str, float] = {}
    for line in log.read_text().splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if match["started"]:
            taken.setdefault(match["started"], at)
        else:
            ready.setdefault(match["ready"], at)
    return taken, ready


def tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 20)).save(buffer, "PNG")
    return buffer.getvalue()


class BrokerReference:
    """Publish to delivery of one message at a time, as the pipeline sends jobs: persistent,
    with a publisher confirm, through a durable quorum queue. Open across the run, so that its
    trips interleave with the uploads."""

    def __init__(self) -> None:
        parameters = pika.URLParameters(BROKER_URL)
        # No heartbeats: the connection idles while the uploads run, and nothing services it
        # then (the broker would close it after its heartbeat timeout).
        parameters.heartbeat = 0
        self.connection = pika.BlockingConnection(parameters)
        self.queue = f"media-bench-reference-{uuid.uuid4().hex[:8]}"
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        self.arrived: list[float] = []
        self.channel.basic_consume(
            self.queue, lambda *_: self.arrived.append(time.time()), auto_ack=True
        )
        self.trips: list[float] = []

    def trip(self) -> None:
        """One message; its seconds from publish to delivery go to ``trips``."""
        wanted = len(self.arrived) + 1
        sent = time.time()
        persistent = pika.BasicProperties(delivery_mode=2)
        self.channel.basic_publish("", self.queue, b"job", properties=persistent)
        while len(self.arrived) < wanted:
            self.connection.process_data_events(time_limit=0.001)
        self.trips.append(self.arrived[-1] - sent)

    def close(self) -> None:
        with contextlib.suppress(pika.exceptions.AMQPError):
            self.channel.queue_delete(self.queue)
            self.connection.close()


def stage_alone(source: Path) -> float:
    """Seconds of the image stage (default settings) on ``source`` in this process, once."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        bench_image.ours_default(source, Path(out))
        return time.perf_counter() - started


def _row(name: str, values: list[float], reference: float | None = None) -> str:
    p50, p95, p99 = (percentile(values, p) * 1000 for p in (50, 95, 99))
    ratio = f"{p50 / 1000 / reference:.2f}" if reference else ""
    return f"| {name} | {len(values)} | {p50:,.1f} | {p95:,.1f} | {p99:,.1f} | {ratio} |"


#: Server settings of the second pass: the relay polling 10x more often (the watch poll interval
#: is set too, though on PostgreSQL WatchMedia hears of a change by NOTIFY, not by polling).
TUNED = {
    "MEDIA_PIPELINE__RELAY_POLL_INTERVAL_SECONDS": "0.05",
    "MEDIA_PIPELINE__WATCH_POLL_INTERVAL_SECONDS": "0.02",
}


@dataclass
class Pass:
    name: str
    big: list[Upload]
    small: list[Upload]


#: One run of the stage alone after every this many 12 MP uploads (interleaved reference).
STAGE_EVERY = 5


@dataclass
class References:
    """Measured between the uploads, so that load from elsewhere falls on both alike."""

    source: Path
    broker: BrokerReference
    stage: list[float]


def uploads(port: int, name: str, jpeg: bytes, references: References) -> Pass:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        uploader = Uploader(channel)
        uploader.upload(jpeg, "image/jpeg")  # warm-up: connections, imports, caches
        big = []
        for n in range(UPLOADS):
            big.append(uploader.upload(jpeg, "image/jpeg"))
            if n % STAGE_EVERY == 0:
                references.stage.append(stage_alone(references.source))
        png = tiny_png()
        small = []
        for _ in range(SMALL_UPLOADS):
            small.append(uploader.upload(png, "image/png"))
            references.broker.trip()
    return Pass(name, big, small)


def rows(done: Pass, log: Path, alone: float, floor: float) -> list[str]:
    taken, ready = worker_moments(log)
    return [
        _row(
            f"{done.name}: 12 MP JPEG, upload to READY seen by the client (WatchMedia)",
            [u.seen_ready - u.started for u in done.big],
            alone,
        ),
        _row(
            f"{done.name}: 12 MP JPEG, upload to READY committed (worker log)",
            [ready[u.media_id] - u.started for u in done.big],
            alone,
        ),
        _row(
            f"{done.name}: 12 MP JPEG, job taken to READY in the worker",
            [ready[u.media_id] - taken[u.media_id] for u in done.big],
            alone,
        ),
        _row(
            f"{done.name}: outbox, CompleteUpload answered to job taken by the worker",
            [taken[u.media_id] - u.completed for u in done.small],
            floor,
        ),
    ]


def measure(running: Stack, work: Path, quiet: str) -> str:
    source = work / "photo.jpg"
    bench_image.make_source(source)
    jpeg = source.read_bytes()
    log = work / "worker.log"
    running.add_worker(log)
    stage_alone(source)  # warm-up, as the uploads have theirs
    references = References(source, BrokerReference(), [])
    try:
        passes = [uploads(running.ports[0], "defaults", jpeg, references)]
        tuned_port = running.add_server(TUNED)
        passes.append(uploads(tuned_port, "tuned", jpeg, references))
    finally:
        references.broker.close()
    alone = percentile(references.stage, 50)
    trips = references.broker.trips
    floor = percentile(trips, 50)
    table = [line for done in passes for line in rows(done, log, alone, floor)]
    p50 = percentile([u.seen_ready - u.started for u in passes[0].big], 50)
    verdict = "Met" if p50 <= TARGET_P50_S else "Missed"
    return f"""{__doc__}
{len(jpeg) / 2**20:.1f} MiB JPEG, {bench_image.SOURCE_SIZE[0]}x{bench_image.SOURCE_SIZE[1]}.
One `media-grpc worker` (default settings: 2 threads) and, per pass, one `media-grpc serve`
with its outbox relay. "defaults": the relay polls the empty outbox every 0.5 s (a commit in its
own process wakes it at once); WatchMedia hears of the worker's commit through the change feed
(PostgreSQL LISTEN/NOTIFY, no polling).
"tuned": `MEDIA_PIPELINE__RELAY_POLL_INTERVAL_SECONDS=0.05`,
`MEDIA_PIPELINE__WATCH_POLL_INTERVAL_SECONDS=0.02`. {quiet} Milliseconds:

| measurement | n | p50 | p95 | p99 | p50 x reference |
|---|---:|---:|---:|---:|---:|
{chr(10).join(table)}
{_row("reference: the image stage alone on the same file, here", references.stage, alone)}
{_row("reference: RabbitMQ publish (confirm, quorum queue) to delivery", trips, floor)}

Target: upload-to-READY p50 <= {TARGET_P50_S:.1f} s as the client sees it, with the defaults.
Here: {p50:.2f} s. **{verdict}.**

Where the time goes: "job taken to READY" is the worker (download from S3, the stage, the
uploads of the variants, one transaction); the stage alone is the reference row. The rest of
"upload to READY" is the client's CreateUploadSession, PUT and CompleteUpload, then the outbox.
The commit that queues a job wakes the server's relay at once (the poll interval only matters
for jobs committed by another process). So the outbox rows cost the publish, the delivery and
the worker's claim: the RabbitMQ reference and a database update. The gap between "committed"
and "seen by the client" is the change feed: the NOTIFY, one read of the media, the stream's send.
"""


def run() -> str:
    quiet = background_load()
    with tempfile.TemporaryDirectory() as tmp, stack(servers=1, broker=True) as running:
        return measure(running, Path(tmp), quiet)
