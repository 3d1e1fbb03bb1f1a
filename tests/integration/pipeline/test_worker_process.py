"""`media-grpc worker` as a process: SIGKILL mid-job loses nothing, SIGTERM finishes the job."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika

from media_grpc.bootstrap import Application
from media_grpc.config import Settings
from media_grpc.domain.model import JobKind, Status
from media_grpc.pipeline_bootstrap import topology_for
from tests import slow_stage_cli
from tests.child_env import settings_env
from tests.integration.pipeline.conftest import (
    assert_one_variant_set,
    png_bytes,
    running_relay,
    upload,
    wait_for,
)
from tests.waiting import eventually


def worker_env(
    settings: Settings, stage_delay: float, url_query: str = "", stop_grace: float = 30
) -> dict[str, str]:
    return settings_env(
        settings,
        MEDIA_BROKER_URL=str(settings.broker_url) + url_query,
        MEDIA_BROKER_PREFIX=settings.broker_prefix,
        MEDIA_PIPELINE__RETRY_DELAYS_SECONDS=json.dumps(settings.pipeline.retry_delays_seconds),
        MEDIA_PIPELINE__PREFETCH="1",
        MEDIA_PIPELINE__WORKER_THREADS="1",
        TEST_STAGE_DELAY_SECONDS=str(stage_delay),
        MEDIA_PIPELINE__STOP_GRACE_SECONDS=str(stop_grace),
    )


@contextmanager
def worker_process(
    settings: Settings,
    log_path: Path,
    stage_delay: float = 0.0,
    url_query: str = "",
    stop_grace: float = 30,
    temp_dir: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A `media-grpc worker` (its temporary directory ``temp_dir`` where given)."""
    env = worker_env(settings, stage_delay, url_query, stop_grace)
    if temp_dir is not None:
        env["TMPDIR"] = str(temp_dir)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            slow_stage_cli.command("worker"),
            cwd=slow_stage_cli.ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:

        def consuming() -> bool:
            assert process.poll() is None, log_path.read_text()
            return "worker consuming" in log_path.read_text()

        # A cold start imports PyAV, Pillow and the service: seconds when the machine is idle,
        # over 30 s at a load average of 15 (seen in a full run beside other suites).
        eventually(consuming, lambda: f"the worker to consume:\n{log_path.read_text()}", 90)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_worker_killed_mid_job_leaves_it_redelivered_and_done_once(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    settings = pipeline_app.settings
    with running_relay(pipeline_app):
        with worker_process(settings, tmp_path / "a.log", stage_delay=30) as doomed:
            media_id = upload(pipeline_app, unique_user, png_bytes())
            wait_for(pipeline_app, media_id, {Status.PROCESSING})
            # The stage has begun (its line is written after the claim commits): kill it now.
            running = f"running IMAGE stage for media {media_id}"
            eventually(lambda: running in (tmp_path / "a.log").read_text(), "the stage to start")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
        with worker_process(settings, tmp_path / "b.log"):
            ready = wait_for(pipeline_app, media_id, {Status.READY})
    first, second = (tmp_path / "a.log").read_text(), (tmp_path / "b.log").read_text()
    assert f"running IMAGE stage for media {media_id}" in first
    assert f"media {media_id} READY" not in first
    assert second.count(f"media {media_id} READY") == 1
    assert_one_variant_set(pipeline_app, ready)


def test_worker_stopped_with_sigterm_finishes_its_job_then_exits(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    with (
        running_relay(pipeline_app),
        worker_process(pipeline_app.settings, tmp_path / "w.log", stage_delay=2) as worker,
    ):
        media_id = upload(pipeline_app, unique_user, png_bytes())
        wait_for(pipeline_app, media_id, {Status.PROCESSING})
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    log = (tmp_path / "w.log").read_text()
    assert wait_for(pipeline_app, media_id, {Status.READY}, timeout=1).status is Status.READY
    assert "worker stopped" in log


def test_worker_keeps_its_connection_through_a_job_longer_than_the_heartbeat_timeout(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "w.log"
    with (
        running_relay(pipeline_app),
        worker_process(
            pipeline_app.settings, log_path, stage_delay=5, url_query="?heartbeat=1"
        ) as worker,
    ):
        media_id = upload(pipeline_app, unique_user, png_bytes())
        wait_for(pipeline_app, media_id, {Status.READY})
        # Still consuming, with nothing back in the queue.
        assert queue_state(pipeline_app, JobKind.IMAGE) == (1, 0)
        assert worker.poll() is None
    log = log_path.read_text()
    assert log.count(f"running IMAGE stage for media {media_id}") == 1
    # One connection for the whole run: the worker logs this each time it (re)connects.
    assert log.count("worker consuming") == 1


def queue_state(app: Application, kind: JobKind) -> tuple[int, int]:
    """(consumers, messages ready) of ``kind``'s work queue."""
    topology = topology_for(app.settings)
    connection = pika.BlockingConnection(pika.URLParameters(str(app.settings.broker_url)))
    try:
        declared = connection.channel().queue_declare(
            topology.queue(topology.work_key(kind)), passive=True
        )
    finally:
        connection.close()
    return declared.method.consumer_count, declared.method.message_count


def test_worker_stopped_with_a_job_longer_than_its_grace_requeues_it_and_exits(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    settings = pipeline_app.settings
    with running_relay(pipeline_app):
        with worker_process(settings, tmp_path / "a.log", stage_delay=60, stop_grace=1) as slow:
            media_id = upload(pipeline_app, unique_user, png_bytes())
            wait_for(pipeline_app, media_id, {Status.PROCESSING})
            started = time.monotonic()
            slow.send_signal(signal.SIGTERM)
            assert slow.wait(15) == 0
            assert time.monotonic() - started < 10
        with worker_process(settings, tmp_path / "b.log"):
            ready = wait_for(pipeline_app, media_id, {Status.READY})
    assert "abandoning 1 running jobs" in (tmp_path / "a.log").read_text()
    assert_one_variant_set(pipeline_app, ready)
