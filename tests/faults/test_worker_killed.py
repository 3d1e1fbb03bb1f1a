"""Workers SIGKILLed mid-job, again and again: every job is still done exactly once in effect
(READY, one variant set, nothing duplicated), because an unacked job is redelivered and the
stage's outputs go to deterministic keys."""

from __future__ import annotations

import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Status
from tests.integration.pipeline.conftest import (
    assert_one_variant_set,
    media_of,
    png_bytes,
    running_relay,
    upload,
    wait_for,
)
from tests.integration.pipeline.test_worker_process import worker_process

pytestmark = pytest.mark.faults

UPLOADS = 12
KILLS = 5


def test_jobs_are_done_once_in_effect_through_repeated_sigkills_mid_job(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    settings = pipeline_app.settings
    chance = random.Random(9)
    logs = [tmp_path / f"worker-{n}.log" for n in range(KILLS + 1)]
    temp_dir = tmp_path / "tmp"  # the workers' own, to count the job directories they leave
    temp_dir.mkdir()
    left: list[int] = []
    with running_relay(pipeline_app):
        with ThreadPoolExecutor(4) as pool:
            media_ids = list(
                pool.map(lambda _: upload(pipeline_app, unique_user, png_bytes()), range(UPLOADS))
            )
        for log in logs[:KILLS]:
            with worker_process(settings, log, stage_delay=0.3, temp_dir=temp_dir) as doomed:
                time.sleep(chance.uniform(0.2, 1.5))
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(10)
            left.append(len(list(temp_dir.glob("media-job-*"))))
        with worker_process(settings, logs[-1], temp_dir=temp_dir):
            ready = [wait_for(pipeline_app, m, {Status.READY}, timeout=120) for m in media_ids]

    texts = [log.read_text() for log in logs]
    runs = sum(t.count("running IMAGE stage for media") for t in texts)
    interrupted = sum(
        t.count("running IMAGE stage for media") - t.count(" READY") for t in texts[:KILLS]
    )
    assert all(media_of(pipeline_app, m).status is Status.READY for m in media_ids), (
        f"{sum(m.status is Status.READY for m in ready)}/{UPLOADS} READY after {KILLS} SIGKILLs"
    )
    for media in ready:
        assert_one_variant_set(pipeline_app, media)
    assert interrupted >= 1, f"no job was interrupted by the {KILLS} SIGKILLs: kill later"
    assert max(left) >= 1, f"no killed worker left a job directory behind ({left})"
    assert not list(temp_dir.glob("media-job-*")), "a starting worker deletes those left"
    print(
        f"\n{UPLOADS}/{UPLOADS} READY with one variant set each after {KILLS} SIGKILLs; "
        f"{runs} stage runs, {interrupted} interrupted mid-job; job directories left after each "
        f"kill: {left}, after the last worker: 0"
    )
