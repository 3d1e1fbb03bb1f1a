"""The broker disappears for 15 s while completions keep coming: no job is lost, jobs flow again
within 5 s of its return (the relay and the worker back off at most 2 s, the defaults, and try
at once when the broker's port answers), and every upload accepted until the return is READY
within 10 s of it (issue #23's target): the backlog drains at the pace of a worker with the
default prefetch and job threads.

The relay and the worker reach RabbitMQ through a TCP proxy this test controls (the shared
RabbitMQ itself is never stopped): the proxy stops listening and drops open connections
mid-stream, then returns. test_broker_stopped.py stops the real broker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import pytest

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.config.pipeline import PipelineSettings
from media_grpc.domain.model import Status
from tests.faults.report import FaultCounts, FaultReport
from tests.faults.uploads import seconds_to_final, seconds_to_first_final
from tests.integration.pipeline.conftest import (
    assert_one_variant_set,
    media_of,
    png_bytes,
    running_relay,
    running_worker,
    upload,
)
from tests.integration.tcp_proxy import TcpProxy
from tests.waiting import eventually

pytestmark = pytest.mark.faults

UPLOADS = 60
OUTAGE_S = 15.0
#: Seconds after the broker's return by which jobs flow again (the first waiting one done).
FLOWING_S = 5.0
#: Seconds after the broker's return by which every upload accepted until then is READY.
RECOVERY_S = 10.0


@pytest.fixture
def proxied_app(pipeline_settings: Settings) -> Iterator[Callable[[str], Application]]:
    """``proxied_app(url)``: an Application whose broker is ``url``, with the pipeline's
    defaults where recovery depends on them: the relay backoff and worker reconnect caps, and
    the worker's prefetch and job threads (the backlog drains at their pace)."""
    built: list[Application] = []

    def make(url: str) -> Application:
        defaults = PipelineSettings()
        pipeline = pipeline_settings.pipeline.model_copy(
            update={
                "relay_max_backoff_seconds": defaults.relay_max_backoff_seconds,
                "worker_reconnect_max_seconds": defaults.worker_reconnect_max_seconds,
                "prefetch": defaults.prefetch,
                "worker_threads": defaults.worker_threads,
            }
        )
        app = build_application(
            pipeline_settings.model_copy(update={"broker_url": url, "pipeline": pipeline}),
            migrate=False,
        )
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


def test_no_job_is_lost_when_the_broker_vanishes_mid_stream(
    pipeline_app: Application,
    proxied_app: Callable[[str], Application],
    fault_report: FaultReport,
    unique_user: str,
) -> None:
    broker = urlparse(str(pipeline_app.settings.broker_url))
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 5672))
    app = proxied_app(
        str(pipeline_app.settings.broker_url).replace(
            f"{broker.hostname}:{broker.port}", f"127.0.0.1:{proxy.port}"
        )
    )
    media_ids: list[str] = []
    proxy.start()
    try:
        with running_worker(app), running_relay(app):

            def complete_all() -> None:
                for _ in range(UPLOADS):
                    media_ids.append(upload(app, unique_user, png_bytes()))

            completing = threading.Thread(target=complete_all)
            completing.start()
            eventually(lambda: len(media_ids) >= UPLOADS // 3, "a third of the uploads", 120)
            proxy.stop()  # the broker goes away under open connections, mid-stream
            gone_at = time.monotonic()
            completed_before = len(media_ids)
            eventually(lambda: time.monotonic() - gone_at >= OUTAGE_S, "the outage", 60)
            completed_during = len(media_ids) - completed_before
            proxy.start()
            returned_at = time.monotonic()
            status = lambda m: media_of(app, m).status  # noqa: E731
            flowing = seconds_to_first_final(list(media_ids), status, returned_at, 60)
            recovered = seconds_to_final(list(media_ids), status, returned_at, 120)
            completing.join(120)
            eventually(
                lambda: all(media_of(app, m).status is Status.READY for m in media_ids),
                "every upload READY",
                120,
            )
    finally:
        proxy.stop()
    ready = [media_of(app, m) for m in media_ids]
    done = sum(m.status is Status.READY for m in ready)
    fault_report.record(
        FaultCounts(
            fault=f"broker gone {OUTAGE_S:g} s (TCP proxy)",
            accepted=len(media_ids),
            ready=done,
            failed=sum(m.status is Status.FAILED for m in ready),
            lost=sum(m.status not in (Status.READY, Status.FAILED) for m in ready),
            client_errors=0,  # completions do not talk to the broker
            recovered_s=recovered,
            flowing_s=flowing,
        )
    )
    assert len(media_ids) == UPLOADS, f"{len(media_ids)}/{UPLOADS} uploads completed"
    assert completed_during > 0, "no completion happened while the broker was away"
    assert done == UPLOADS, (
        f"{done}/{UPLOADS} READY after a {OUTAGE_S:g} s broker outage; "
        f"{UPLOADS - done} jobs lost or stuck"
    )
    assert flowing is not None and flowing <= FLOWING_S, (
        f"jobs flowed again {flowing} s after the broker's return"
    )
    assert recovered is not None and recovered <= RECOVERY_S, (
        f"the uploads accepted before the broker's return took {recovered} s to finish"
    )
    for media in ready:
        assert_one_variant_set(app, media)
