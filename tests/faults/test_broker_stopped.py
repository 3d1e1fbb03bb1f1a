"""RabbitMQ stopped for 15 s while 60 uploads are made through `serve`: no upload is lost or
visible to clients as an error, jobs flow again within 5 s of the broker's return (the relay
and the worker back off at most 2 s and try at once when the broker's port answers), and every
upload accepted until the return is READY within 10 s of it (issue #23's target), at the pace
of a worker with the default prefetch and job threads.

Stops the machine's RabbitMQ (``rabbitmqctl stop_app``, then ``start_app``): only with
MEDIA_TEST_ALLOW_SERVICE_RESTART=1. test_broker_outage.py does the same through a TCP proxy."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

import pika
import pytest

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.bootstrap import Application
from media_grpc.config.auth import AuthSettings
from media_grpc.config.pipeline import PipelineSettings
from tests.faults.conftest import Served
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

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        os.environ.get("MEDIA_TEST_ALLOW_SERVICE_RESTART") != "1",
        reason="stops the machine's RabbitMQ: set MEDIA_TEST_ALLOW_SERVICE_RESTART=1 (CI does)",
    ),
]

UPLOADS = 60
OUTAGE_S = 15.0
#: Seconds after the broker's return by which jobs flow again (the first waiting one done).
FLOWING_S = 5.0
#: Seconds after the broker's return by which every upload accepted until then is READY.
RECOVERY_S = 10.0


def rabbitmqctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", *args], check=check, timeout=120, capture_output=True)


def accepting(url: str) -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except pika.exceptions.AMQPError:
        return False
    return True


def test_broker_stopped_for_15_s_loses_no_upload_and_jobs_flow_again_in_seconds(
    serve: Callable[..., Served],
    make_app: Callable[..., Application],
    fault_report: FaultReport,
    unique_user: str,
) -> None:
    defaults = PipelineSettings()
    pipeline_app = make_app(prefetch=defaults.prefetch, worker_threads=defaults.worker_threads)
    settings = pipeline_app.settings
    served = serve(env=worker_env(settings, 0.0))
    token = issue_token(AuthSettings(), unique_user)
    read = lambda media_id: media_of(pipeline_app, media_id).status  # noqa: E731
    try:
        with (
            running_worker(pipeline_app),
            UploadTraffic(served.address, token, png_bytes(), UPLOADS) as traffic,
        ):
            traffic.wait_accepted(UPLOADS // 3, 120)
            rabbitmqctl("stop_app")
            stopped_at = time.monotonic()
            eventually(lambda: time.monotonic() - stopped_at >= OUTAGE_S, "the outage", 60)
            rabbitmqctl("start_app")
            eventually(lambda: accepting(str(settings.broker_url)), "the broker to accept", 60)
            returned_at = time.monotonic()
            flowing = seconds_to_first_final(traffic.snapshot(), read, returned_at, 60)
            recovered = seconds_to_final(traffic.snapshot(), read, returned_at, 120)
            traffic.wait_accepted(UPLOADS, 120)
    finally:
        rabbitmqctl("start_app", check=False)  # never leave the machine's broker stopped
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
