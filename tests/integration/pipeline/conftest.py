"""Pipeline fixtures: the real RabbitMQ under a prefix of this test's own, an Application on
the run's PostgreSQL and strict S3, workers and relays started and stopped per test."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pika
import pytest
import requests
from media.v1 import media_pb2_grpc
from PIL import Image

from media_grpc.adapters.outbox_relay import OutboxRelay
from media_grpc.adapters.rabbitmq_publisher import RabbitMqJobPublisher
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.config.pipeline import PipelineSettings
from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import JobKind, Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.domain.stage import StageJob, StageResult
from media_grpc.pipeline_bootstrap import build_consumer, build_relay, topology_for
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.service.uploads import UploadRequest
from tests.generous_limits import generous_limits
from tests.services import rabbitmq_url
from tests.waiting import eventually
from workers.consumer import RabbitMqConsumer

#: Short retry delays, so a job exhausts its three attempts in about a second.
TEST_DELAYS = [0.3, 0.6]


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    with rabbitmq_url() as url:
        yield url


@pytest.fixture
def pipeline_settings(
    settings: Settings, broker_url: str, app: Application, own_database_url: str
) -> Iterator[Settings]:
    """The run's settings with a database of the test's own (so no other test's outbox rows
    reach its relays) and the broker under a unique prefix, deleted after the test."""
    prefix = f"media-test-{uuid.uuid4().hex[:10]}"
    configured = settings.model_copy(
        update={
            "database_url": own_database_url,
            "broker_url": broker_url,
            "broker_prefix": prefix,
            "pipeline": PipelineSettings(
                retry_delays_seconds=TEST_DELAYS,
                prefetch=1,
                worker_threads=1,
                stop_grace_seconds=5,
                relay_poll_interval_seconds=0.05,
                relay_max_backoff_seconds=0.5,
                watch_poll_interval_seconds=0.05,
            ),
            # Hundreds of uploads for one owner here; the limits have tests of their own.
            "limits": generous_limits(),
        }
    )
    yield configured
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        topology_for(configured).delete(connection.channel())
    finally:
        connection.close()


@pytest.fixture
def make_app(pipeline_settings: Settings) -> Iterator[Callable[..., Application]]:
    """``make_app(**pipeline_overrides)``: an Application; closed after the test."""
    built: list[Application] = []

    def make(**overrides: object) -> Application:
        pipeline = pipeline_settings.pipeline.model_copy(update=overrides)
        application = build_application(
            pipeline_settings.model_copy(update={"pipeline": pipeline}), migrate=False
        )
        built.append(application)
        return application

    yield make
    for application in built:
        application.close()


@pytest.fixture
def pipeline_app(make_app: Callable[..., Application]) -> Application:
    return make_app()


@pytest.fixture
def stub(pipeline_app: Application) -> Iterator[media_pb2_grpc.MediaServiceStub]:
    """A gRPC server of the test's own Application (its own database) and a stub of it."""
    running = pipeline_app.serve("127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield media_pb2_grpc.MediaServiceStub(channel)
    finally:
        running.stop(1)


@contextmanager
def running_worker(app: Application) -> Iterator[RabbitMqConsumer]:
    consumer = build_consumer(app)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    assert consumer.ready.wait(10), "the worker did not start consuming"
    try:
        yield consumer
    finally:
        consumer.request_stop()
        thread.join(15)


@contextmanager
def running_relay(app: Application, url: str | None = None) -> Iterator[OutboxRelay]:
    settings = app.settings
    publisher = RabbitMqJobPublisher(url or str(settings.broker_url), topology_for(settings))
    relay = build_relay(app, publisher)
    runtime = ProcessRuntime("test")
    runtime.start_loop("outbox-relay", relay.run, stop=relay.request_stop, then=relay.close)
    try:
        yield relay
    finally:
        runtime.stop()


@contextmanager
def running_pipeline(app: Application) -> Iterator[RabbitMqConsumer]:
    """A worker and a relay of ``app``: what is completed meanwhile is processed. Yields the
    worker."""
    with running_worker(app) as worker, running_relay(app):
        yield worker


class BrokenStage:
    """Stands in for a stage: raises a transient error while ``broken``, else runs ``stage``."""

    def __init__(self, consumer: RabbitMqConsumer, kind: JobKind = JobKind.IMAGE) -> None:
        self.stages = consumer.middleware.handler.stages
        self.kind = kind
        self.stage = self.stages[kind]
        self.broken = True
        self.stages[kind] = self

    def __call__(self, job: StageJob, source: Path, work_dir: Path) -> StageResult:
        if self.broken:
            raise OSError("scratch disk unavailable (a transient failure made by the test)")
        return self.stage(job, source, work_dir)


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(
    app: Application,
    user: str,
    data: bytes,
    *,
    complete: bool = True,
    purpose: Purpose = Purpose.POST_IMAGE,
    content_type: str = "image/png",
) -> str:
    """A session, a PUT to its presigned URL and (by default) CompleteUpload: the media id."""
    principal = Principal(user)
    session = app.uploads.create_session(
        principal,
        UploadRequest(
            purpose=purpose,
            file_name="upload",
            content_type=content_type,
            size_bytes=len(data),
        ),
    )
    assert session.single_put is not None
    put = requests.put(
        session.single_put.url, data=data, headers=session.single_put.headers, timeout=10
    )
    put.raise_for_status()
    if complete:
        app.uploads.complete_upload(principal, session.media.id)
    return session.media.id


def media_of(app: Application, media_id: str) -> Media:
    with app.ctx.uow() as uow:
        media = uow.media.get(media_id)
    assert media is not None
    return media


def wait_for(app: Application, media_id: str, statuses: set[Status], timeout: float = 30) -> Media:
    seen: list[Media] = []

    def arrived() -> Media | None:
        seen.append(media_of(app, media_id))
        return seen[-1] if seen[-1].status in statuses else None

    return eventually(arrived, lambda: f"{media_id} to be {statuses}: {seen[-1].status}", timeout)


def assert_one_variant_set(app: Application, media: Media) -> None:
    """READY with variants, each named once, each stored under the media's output prefix.

    Whatever stage the registry runs, a redelivered or retried job must leave exactly this.
    """
    prefix = output_prefix(media.storage_key, video=media.purpose.is_video)
    names = [v.name for v in media.variants]
    assert media.status is Status.READY
    assert names, "no variants"
    assert len(set(names)) == len(names), names
    stored = set(app.storage.list_keys(prefix))
    assert all(v.storage_key in stored for v in media.variants), (media.variants, stored)
