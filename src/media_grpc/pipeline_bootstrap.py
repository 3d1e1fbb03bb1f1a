"""Building the processing pipeline from an Application: relay, publisher, workers.

Kept beside bootstrap.py (the place objects are built) so that the server, `media-grpc worker`
and `media-grpc relay` assemble the same pieces the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from media_grpc.adapters.database import build_session_factory
from media_grpc.adapters.job_directories import sweep_left_job_directories
from media_grpc.adapters.job_locks import job_locks_for
from media_grpc.adapters.job_publisher import JobPublisher
from media_grpc.adapters.outbox_gauges import OutboxGauges
from media_grpc.adapters.outbox_relay import OutboxRelay
from media_grpc.adapters.rabbitmq_publisher import RabbitMqJobPublisher
from media_grpc.adapters.rabbitmq_topology import Topology
from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.domain.model import JobKind
from workers.consumer import RabbitMqConsumer
from workers.in_process_queue import InProcessQueue
from workers.job_handler import JobHandler
from workers.metered import MeteredRetryMiddleware, count_published
from workers.retries import RetryMiddleware
from workers.stage_pool import StagePool
from workers.stage_registry import stage_pool, stages


@dataclass
class Pipeline:
    """The relay of a server process, and in the embedded default the worker behind it; the
    process runtime starts and stops them (``runtime/serving.py``)."""

    relay: OutboxRelay
    queue: InProcessQueue | None = None
    #: The warm stage children of the in-process worker.
    pool: StagePool | None = None


def topology_for(settings: Settings) -> Topology:
    return Topology(settings.broker_prefix, tuple(settings.pipeline.retry_delays_seconds))


def build_middleware(app: Application, pool: StagePool) -> RetryMiddleware:
    """The job handler behind the retry policy, its stages run in ``pool``'s children."""
    handler = JobHandler(app.ctx, job_locks_for(app.engine), stages(app.settings, pool))
    return MeteredRetryMiddleware(handler, app.settings.pipeline.retry_delays_seconds)


def build_relay(app: Application, publisher: JobPublisher) -> OutboxRelay:
    pipeline = app.settings.pipeline
    OutboxGauges(build_session_factory(app.engine), app.ctx.now).register()
    return OutboxRelay(
        build_session_factory(app.engine),
        publisher,
        app.ctx.now,
        batch_size=pipeline.relay_batch_size,
        poll_interval=pipeline.relay_poll_interval_seconds,
        max_backoff=pipeline.relay_max_backoff_seconds,
        signal=app.outbox_signal,
        after_publish=[count_published],
    )


def build_pipeline(app: Application) -> Pipeline:
    """RabbitMQ when a broker URL is set; else an in-process queue running the same handler."""
    settings = app.settings
    if settings.broker_url:
        return Pipeline(
            build_relay(app, RabbitMqJobPublisher(settings.broker_url, topology_for(settings)))
        )
    sweep_left_job_directories()  # an embedded server killed mid-job left its original there
    pool = stage_pool(settings)
    queue = InProcessQueue(build_middleware(app, pool), threads=settings.pipeline.worker_threads)
    return Pipeline(build_relay(app, queue), queue, pool)


def build_consumer(app: Application, kinds: Sequence[JobKind] = tuple(JobKind)) -> RabbitMqConsumer:
    settings = app.settings
    if not settings.broker_url:
        raise ValueError("a worker needs MEDIA_BROKER_URL")
    pipeline = settings.pipeline
    pool = stage_pool(settings)
    return RabbitMqConsumer(
        settings.broker_url,
        topology_for(settings),
        build_middleware(app, pool),
        kinds,
        prefetch=max(pipeline.prefetch, pipeline.worker_threads),
        threads=pipeline.worker_threads,
        stop_grace=pipeline.stop_grace_seconds,
        max_backoff=pipeline.worker_reconnect_max_seconds,
        on_start=pool.start,
        on_stop=pool.close,
    )
