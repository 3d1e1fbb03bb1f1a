"""The guarantees of issue 4 on the real RabbitMQ and PostgreSQL: nothing lost while the broker
is away, dead letters for poison jobs, no job run twice at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pika
import pika.exceptions
from sqlalchemy import select

from media_grpc.adapters.database import build_session_factory
from media_grpc.adapters.job_messages import decode_job, job_from_payload
from media_grpc.adapters.job_publisher import JobPublisher
from media_grpc.adapters.orm import OutboxRow
from media_grpc.adapters.outbox_relay import OutboxRelay
from media_grpc.adapters.rabbitmq_publisher import RabbitMqJobPublisher
from media_grpc.bootstrap import Application
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import FailureReason, JobKind, Status
from media_grpc.domain.stage import StageJob, StageResult
from media_grpc.pipeline_bootstrap import build_consumer, topology_for
from media_grpc.runtime.process_runtime import ProcessRuntime
from tests.integration.pipeline.conftest import (
    TEST_DELAYS,
    BrokenStage,
    assert_one_variant_set,
    media_of,
    png_bytes,
    running_pipeline,
    running_relay,
    running_worker,
    upload,
    wait_for,
)
from tests.integration.tcp_proxy import TcpProxy
from tests.waiting import eventually
from workers.job_handler import Handled, JobHandler


def outbox_rows(app: Application, media_ids: list[str]) -> list[OutboxRow]:
    with build_session_factory(app.engine)() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.media_id.in_(media_ids))))


def dead_letters(
    app: Application, kind: JobKind = JobKind.IMAGE
) -> list[tuple[ProcessingJob, dict[str, object]]]:
    topology = topology_for(app.settings)
    connection = pika.BlockingConnection(pika.URLParameters(str(app.settings.broker_url)))
    found = []
    try:
        channel = connection.channel()
        while True:
            method, properties, body = channel.basic_get(topology.queue(topology.dead_key(kind)))
            if method is None:
                return found
            found.append((decode_job(body), dict(properties.headers or {})))
            channel.basic_ack(method.delivery_tag)
    finally:
        connection.close()


def wait_for_dead_letters(
    app: Application, count: int, timeout: float = 10
) -> list[tuple[ProcessingJob, dict[str, object]]]:
    """Takes dead letters until ``count`` arrived (or fails after ``timeout`` seconds)."""
    found: list[tuple[ProcessingJob, dict[str, object]]] = []

    def all_arrived() -> bool:
        found.extend(dead_letters(app))
        return len(found) >= count

    eventually(all_arrived, lambda: f"{count} dead letters, not {len(found)}", timeout)
    return found


def test_two_hundred_completions_while_the_broker_refuses_are_all_published_and_processed(
    pipeline_app: Application, unique_user: str
) -> None:
    broker = urlparse(str(pipeline_app.settings.broker_url))
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 5672))
    relay_url = str(pipeline_app.settings.broker_url).replace(
        f"{broker.hostname}:{broker.port}", f"127.0.0.1:{proxy.port}"
    )
    try:
        with running_worker(pipeline_app), running_relay(pipeline_app, relay_url) as relay:
            with ThreadPoolExecutor(8) as pool:
                media_ids = list(
                    pool.map(lambda _: upload(pipeline_app, unique_user, png_bytes()), range(200))
                )
            rows = outbox_rows(pipeline_app, media_ids)
            assert len(rows) == 200
            assert all(r.published_at is None for r in rows)
            assert any(r.attempts > 0 and r.last_error for r in rows), "the relay never tried"
            assert all(media_of(pipeline_app, m).status is Status.UPLOADED for m in media_ids)

            proxy.start()  # the broker is back
            eventually(lambda: not relay.pending(), "the relay to publish every row", 60)
            assert all(r.published_at is not None for r in outbox_rows(pipeline_app, media_ids))
            ready = [wait_for(pipeline_app, m, {Status.READY}, timeout=120) for m in media_ids]
    finally:
        proxy.stop()
    for media in ready:
        assert_one_variant_set(pipeline_app, media)


def test_relay_whose_broker_connection_drops_reconnects_and_loses_no_job(
    pipeline_app: Application, unique_user: str
) -> None:
    broker = urlparse(str(pipeline_app.settings.broker_url))
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 5672))
    relay_url = str(pipeline_app.settings.broker_url).replace(
        f"{broker.hostname}:{broker.port}", f"127.0.0.1:{proxy.port}"
    )
    proxy.start()
    try:
        with running_worker(pipeline_app), running_relay(pipeline_app, relay_url) as relay:
            first = upload(pipeline_app, unique_user, png_bytes())
            wait_for(pipeline_app, first, {Status.READY})
            proxy.stop()  # the broker goes away under an open connection
            later = [upload(pipeline_app, unique_user, png_bytes()) for _ in range(20)]
            eventually(
                lambda: any(r.last_error for r in outbox_rows(pipeline_app, later)),
                "the relay to try the broker",
                30,
            )
            assert relay.pending() >= 20
            proxy.start()
            ready = [wait_for(pipeline_app, m, {Status.READY}, timeout=60) for m in later]
    finally:
        proxy.stop()
    for media in ready:
        assert_one_variant_set(pipeline_app, media)


def test_corrupt_image_fails_at_once_and_is_parked_in_the_dead_letter_queue(
    pipeline_app: Application, unique_user: str
) -> None:
    corrupt = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x07" * 300
    with running_pipeline(pipeline_app):
        media_id = upload(pipeline_app, unique_user, corrupt)
        failed = wait_for(pipeline_app, media_id, {Status.FAILED})
    assert failed.failure is not None
    assert failed.failure.reason is FailureReason.CORRUPT
    [(job, headers)] = dead_letters(pipeline_app)
    assert job.media_id == media_id
    assert headers["x-attempt"] == 1
    assert headers["x-failure-reason"] == "CORRUPT"


def test_job_failing_every_attempt_ends_in_the_dead_letter_queue_with_its_media_failed(
    pipeline_app: Application, unique_user: str
) -> None:
    started = time.monotonic()
    with running_pipeline(pipeline_app) as worker:
        BrokenStage(worker)
        media_id = upload(pipeline_app, unique_user, png_bytes())
        failed = wait_for(pipeline_app, media_id, {Status.FAILED})
        # The dead letter is published right after the status is recorded.
        [(job, headers)] = wait_for_dead_letters(pipeline_app, 1)
    assert time.monotonic() - started >= sum(TEST_DELAYS)
    assert failed.failure is not None
    assert failed.failure.reason is FailureReason.PROCESSING_ERROR
    assert failed.failure.message.startswith("gave up after 3 attempts")
    assert dead_letters(pipeline_app) == []
    assert job.media_id == media_id
    assert headers["x-attempt"] == 3
    assert headers["x-failure-reason"] == "PROCESSING_ERROR"


class Observed:
    """Wraps a worker's handler: records each stage run (start, end) and each outcome. A stage
    run holds on until some delivery was turned away BUSY (or 20 s pass), so that the second
    delivery surely arrives while the first runs."""

    def __init__(self) -> None:
        self.runs: list[tuple[float, float]] = []
        self.outcomes: list[Handled] = []
        self.lock = threading.Lock()
        self.turned_away = threading.Event()

    def watch(self, handler: JobHandler) -> None:
        stage, handle = handler.stages[JobKind.IMAGE], handler.handle

        def timed_stage(job: StageJob, source: Path, work_dir: Path) -> StageResult:
            start = time.monotonic()
            try:
                self.turned_away.wait(20)
                return stage(job, source, work_dir)
            finally:
                with self.lock:
                    self.runs.append((start, time.monotonic()))

        def recorded_handle(job: ProcessingJob) -> Handled:
            outcome = handle(job)
            with self.lock:
                self.outcomes.append(outcome)
            if outcome is Handled.BUSY:
                self.turned_away.set()
            return outcome

        handler.stages = {**handler.stages, JobKind.IMAGE: timed_stage}
        handler.handle = recorded_handle  # type: ignore[method-assign]


def test_two_workers_never_process_the_same_job_at_once(
    make_app: Callable[..., Application], unique_user: str
) -> None:
    apps = [make_app() for _ in range(2)]
    media_id = upload(apps[0], unique_user, png_bytes())
    [row] = outbox_rows(apps[0], [media_id])
    observed = Observed()
    consumers = [build_consumer(app) for app in apps]
    for consumer in consumers:
        observed.watch(consumer.middleware.handler)
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
    for thread in threads:
        thread.start()
    try:
        assert all(c.ready.wait(10) for c in consumers)
        publisher = RabbitMqJobPublisher(
            str(apps[0].settings.broker_url), topology_for(apps[0].settings)
        )
        job = job_from_payload(row.payload)
        publisher.publish(job)  # a relay that died before marking its row sent...
        publisher.publish(job)  # ...and the relay after it: the same job twice
        publisher.close()
        ready = wait_for(apps[0], media_id, {Status.READY})
        eventually(
            lambda: len([o for o in observed.outcomes if o is not Handled.BUSY]) >= 2,
            lambda: f"two handled deliveries: {observed.outcomes}",
            20,
        )
    finally:
        for consumer in consumers:
            consumer.request_stop()
        for thread in threads:
            thread.join(15)
    assert len(observed.runs) == 1, observed.runs
    assert Handled.BUSY in observed.outcomes
    finished = sorted(o for o in observed.outcomes if o is not Handled.BUSY)
    assert finished == [Handled.DONE, Handled.SKIPPED]
    assert_one_variant_set(apps[0], ready)


def queue_exists(app: Application, queue: str) -> bool:
    connection = pika.BlockingConnection(pika.URLParameters(str(app.settings.broker_url)))
    try:
        connection.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if connection.is_open:
            connection.close()


def test_relay_declares_the_topology_at_start_up_before_any_job(
    pipeline_app: Application,
) -> None:
    topology = topology_for(pipeline_app.settings)
    queues = [topology.queue(key) for key, _ in topology.declarations()]
    assert not any(queue_exists(pipeline_app, q) for q in queues)
    with running_relay(pipeline_app):
        eventually(lambda: all(queue_exists(pipeline_app, q) for q in queues), "the topology", 10)


def test_malformed_message_is_parked_in_the_dead_letter_queue(pipeline_app: Application) -> None:
    topology = topology_for(pipeline_app.settings)
    dead = topology.queue(topology.dead_key(JobKind.IMAGE))
    with running_worker(pipeline_app):
        connection = pika.BlockingConnection(
            pika.URLParameters(str(pipeline_app.settings.broker_url))
        )
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                topology.exchange, topology.work_key(JobKind.IMAGE), b"not a job", mandatory=True
            )
            eventually(
                lambda: channel.queue_declare(dead, passive=True).method.message_count >= 1,
                "the malformed message to be parked",
                10,
            )
        finally:
            connection.close()


def test_two_relays_never_publish_the_same_row(pipeline_app: Application, unique_user: str) -> None:
    media_ids = [upload(pipeline_app, unique_user, png_bytes()) for _ in range(40)]

    class SlowRecorder(JobPublisher):
        def __init__(self) -> None:
            self.jobs: list[str] = []

        def publish(self, job: ProcessingJob) -> None:
            time.sleep(0.005)  # a slow broker, not a test waiting
            self.jobs.append(job.job_id)

    recorders = [SlowRecorder(), SlowRecorder()]
    sessions = build_session_factory(pipeline_app.engine)
    relays = [
        OutboxRelay(sessions, r, pipeline_app.ctx.now, batch_size=5, poll_interval=0.01)
        for r in recorders
    ]
    runtime = ProcessRuntime("test")
    for n, relay in enumerate(relays):
        runtime.start_loop(f"relay-{n}", relay.run, stop=relay.request_stop, then=relay.close)
    eventually(lambda: not relays[0].pending(), "the relays to publish every row", 30)
    runtime.stop()
    ours = {r.id for r in outbox_rows(pipeline_app, media_ids)}
    published = [j for r in recorders for j in r.jobs if j in ours]
    assert sorted(published) == sorted(ours)
    assert all(any(j in ours for j in r.jobs) for r in recorders), "one relay did everything"
