"""RabbitMQ stopped for 15 s while 60 uploads are made through `serve`: no upload is lost or
visible to clients as an error, jobs flow again within 5 s of the broker's return (the relay
and the worker back off at most 2 s and try at once when the broker's port answers), and every
upload accepted until the return is READY within 10 s of it (issue #23's target), at the pace
of a worker with the default prefetch and job threads.

Stops a RabbitMQ node of the test's own (``rabbitmqctl stop_app``, then ``start_app``;
tests/faults/private_rabbitmq.py), never the machine's shared broker. test_broker_outage.py
does the same through a TCP proxy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pika
import pytest

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.config.auth import AuthSettings
from media_grpc.config.pipeline import PipelineSettings
from tests.faults.conftest import Served
from tests.faults.private_rabbitmq import PrivateRabbitMq, private_rabbitmq
from tests.faults.report import FaultReport
from tests.faults.uploads import (
    UploadTraffic,
    seconds_to_final,
    seconds_to_first_final,
    settle,
)
from tests.integration.pipeline.conftest import media_of, png_bytes, running_worker
from tests.integration.pipeline.test_worker_process import worker_env
from tests.waiting import eventually

pytestmark = pytest.mark.faults

UPLOADS = 60
OUTAGE_S = 15.0
#: Seconds after the broker's return by which jobs flow again (the first waiting one done).
FLOWING_S = 5.0
#: Seconds after the broker's return by which every upload accepted until then is READY.
RECOVERY_S = 10.0


def accepting(url: str) -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except pika.exceptions.AMQPError:
        return False
    return True


@pytest.fixture
def broker() -> Iterator[PrivateRabbitMq]:
    with private_rabbitmq() as node:
        yield node


@pytest.fixture
def stoppable_app(pipeline_settings: Settings, broker: PrivateRabbitMq) -> Iterator[Application]:
    """An Application on ``broker`` whose worker has the pipeline's default prefetch and job
    threads (the backlog drains at their pace)."""
    defaults = PipelineSettings()
    pipeline = pipeline_settings.pipeline.model_copy(
        update={"prefetch": defaults.prefetch, "worker_threads": defaults.worker_threads}
    )
    app = build_application(
        pipeline_settings.model_copy(update={"broker_url": broker.url, "pipeline": pipeline}),
        migrate=False,
    )
    yield app
    app.close()


def test_broker_stopped_for_15_s_loses_no_upload_and_jobs_flow_again_in_seconds(
    serve: Callable[..., Served],
    broker: PrivateRabbitMq,
    stoppable_app: Application,
    fault_report: FaultReport,
    unique_user: str,
) -> None:
    pipeline_app = stoppable_app
    settings = pipeline_app.settings
    served = serve(env=worker_env(settings, 0.0))
    token = issue_token(AuthSettings(), unique_user)
    read = lambda media_id: media_of(pipeline_app, media_id).status  # noqa: E731
    with (
        running_worker(pipeline_app),
        UploadTraffic(served.address, token, png_bytes(), UPLOADS) as traffic,
    ):
        traffic.wait_accepted(UPLOADS // 3, 120)
        broker.stop_app()
        stopped_at = time.monotonic()
        eventually(lambda: time.monotonic() - stopped_at >= OUTAGE_S, "the outage", 60)
        broker.start_app()
        eventually(lambda: accepting(broker.url), "the broker to accept", 60)
        returned_at = time.monotonic()
        flowing = seconds_to_first_final(traffic.snapshot(), read, returned_at, 60)
        recovered = seconds_to_final(traffic.snapshot(), read, returned_at, 120)
        traffic.wait_accepted(UPLOADS, 120)
    counts = settle(
        f"RabbitMQ stopped {OUTAGE_S:g} s", traffic, read, returned_at, 60, recovered, flowing
    )
    fault_report.record(counts)
    assert counts.lost == 0, f"{counts.lost}/{counts.accepted} accepted uploads never finished"
    assert counts.ready == UPLOADS, f"{counts.ready}/{UPLOADS} READY ({counts.failed} FAILED)"
    assert counts.client_errors == 0, f"clients saw errors: {traffic.client_errors}"
    assert flowing is not None and flowing <= FLOWING_S, (
        f"jobs flowed again {flowing} s after the broker's return"
    )
    assert recovered is not None and recovered <= RECOVERY_S, (
        f"the uploads accepted before the broker's return took {recovered} s to finish"
    )
