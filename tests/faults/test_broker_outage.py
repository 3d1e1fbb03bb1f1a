"""The broker disappears while completions keep coming: no job is lost once it returns.

The relay reaches RabbitMQ through a TCP proxy this test controls (the shared RabbitMQ itself is
never stopped): the proxy stops listening and drops open connections mid-stream, then returns.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

import pytest

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Status
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
OUTAGE_S = 2.0


def test_no_job_is_lost_when_the_broker_vanishes_mid_stream(
    pipeline_app: Application, unique_user: str
) -> None:
    broker = urlparse(str(pipeline_app.settings.broker_url))
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 5672))
    relay_url = str(pipeline_app.settings.broker_url).replace(
        f"{broker.hostname}:{broker.port}", f"127.0.0.1:{proxy.port}"
    )
    media_ids: list[str] = []
    proxy.start()
    try:
        with running_worker(pipeline_app), running_relay(pipeline_app, relay_url):

            def complete_all() -> None:
                for _ in range(UPLOADS):
                    media_ids.append(upload(pipeline_app, unique_user, png_bytes()))

            completing = threading.Thread(target=complete_all)
            completing.start()
            eventually(lambda: len(media_ids) >= UPLOADS // 3, "a third of the uploads", 120)
            proxy.stop()  # the broker goes away under open connections, mid-stream
            completed_during = len(media_ids)
            time.sleep(OUTAGE_S)
            completed_during = len(media_ids) - completed_during
            proxy.start()
            completing.join(120)
            eventually(
                lambda: all(media_of(pipeline_app, m).status is Status.READY for m in media_ids),
                "every upload READY",
                120,
            )
    finally:
        proxy.stop()
    ready = [media_of(pipeline_app, m) for m in media_ids]
    done = sum(m.status is Status.READY for m in ready)
    assert len(media_ids) == UPLOADS, f"{len(media_ids)}/{UPLOADS} uploads completed"
    assert completed_during > 0, "no completion happened while the broker was away"
    assert done == UPLOADS, (
        f"{done}/{UPLOADS} READY after a {OUTAGE_S:g} s broker outage; "
        f"{UPLOADS - done} jobs lost or stuck"
    )
    for media in ready:
        assert_one_variant_set(pipeline_app, media)
    print(
        f"\n{done}/{UPLOADS} READY, 0 lost, after a {OUTAGE_S:g} s broker outage during which "
        f"{completed_during} completions happened"
    )
