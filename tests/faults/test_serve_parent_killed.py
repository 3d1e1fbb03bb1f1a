"""SIGKILL of the first `serve` process of MEDIA_GRPC_PROCESSES=2 under upload traffic: no
server process outlives it, the job of every upload a process accepted is published before any
restart, because each process runs an outbox relay and publishes what is pending as it stops,
and every such upload ends READY. A supervisor then starts `serve` again at once; the clients
keep uploading through it, and see no error when it is back within their calls' deadline: the
client library's idempotent calls wait for a server (``waitForReady``) and its channel tries to
connect at most 2 s apart.

A child notices its parent's death at once (EOF on its parent pipe, ``ProcessRuntime``), stops
taking calls, lets those in flight finish (``server.stop(grace)``), publishes what is pending
and exits."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.adapters.orm import OutboxRow
from media_grpc.bootstrap import Application
from media_grpc.client.retry_policy import MAX_RECONNECT_MS
from media_grpc.config.auth import AuthSettings
from tests.faults.conftest import Served
from tests.faults.report import FaultReport
from tests.faults.uploads import (
    CALL_TIMEOUT_S,
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
#: Seconds within which a child must notice its parent's death and be gone.
ORPHAN_WINDOW_S = 5.0


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def child_pids(served: Served) -> list[int]:
    found = re.findall(r"media-grpc server process (\d+) serving", "".join(served.output))
    return [int(p) for p in found]


def published_within(app: Application, timeout: float) -> bool:
    """Whether every outbox row of the test's database is published within ``timeout`` s."""

    def pending() -> int:
        with Session(app.engine) as session:
            unpublished = OutboxRow.published_at.is_(None)
            return int(session.scalar(select(func.count()).where(unpublished)) or 0)

    try:
        eventually(lambda: pending() == 0, "every outbox row published", timeout)
    except AssertionError:
        return False
    return True


def test_killing_the_first_serve_process_leaves_no_orphan_and_loses_no_upload(
    serve: Callable[..., Served],
    pipeline_app: Application,
    fault_report: FaultReport,
    unique_user: str,
) -> None:
    settings = pipeline_app.settings
    env = worker_env(settings, 0.0)
    env.update(MEDIA_GRPC_PROCESSES="2", MEDIA_PIPELINE__RELAY_POLL_INTERVAL_SECONDS="0.2")
    first = serve(env=env)
    children = eventually(
        lambda: child_pids(first),
        lambda: "the child server process to serve:\n" + "".join(first.output[-30:]),
        90,
    )
    token = issue_token(AuthSettings(), unique_user)
    orphans: list[int] = []
    try:
        with (
            running_worker(pipeline_app),
            UploadTraffic(first.address, token, png_bytes(), UPLOADS, threads=6) as traffic,
        ):
            traffic.wait_accepted(UPLOADS // 3, 60)
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(10)
            killed_at = time.monotonic()
            try:
                eventually(
                    lambda: not any(alive(p) for p in children),
                    "the children to exit after their parent's death",
                    ORPHAN_WINDOW_S,
                )
            except AssertionError:
                orphans = [p for p in children if alive(p)]
            # Before any restart: what the dead parent and its child accepted is published by
            # a relay of theirs (the child's, running or publishing as it stopped).
            read = lambda m: media_of(pipeline_app, m).status  # noqa: E731
            accepted_before = traffic.snapshot()
            unaided = published_within(pipeline_app, 30)
            # A supervisor starts serve again on the same address, at once.
            serve(env=env, address=first.address)
            returned_at = time.monotonic()
            serverless_s = returned_at - killed_at
            flowing = seconds_to_first_final(traffic.snapshot(), read, returned_at, 60)
            recovered = seconds_to_final(traffic.snapshot(), read, returned_at, 120)
            traffic.wait_accepted(UPLOADS, 120)
            counts = settle(
                "serve parent SIGKILL (2 processes)",
                traffic,
                read,
                returned_at,
                60,
                recovered,
                flowing,
            )
    finally:
        for pid in orphans:  # the orphans of this test's own serve
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    fault_report.record(counts)
    print(f"no server for {serverless_s:.1f} s; client-visible errors: {traffic.client_errors}")
    assert unaided, (
        f"the jobs of the {len(accepted_before)} uploads accepted before the restart were not "
        "all published without it: a job of theirs waited on a relay that was gone"
    )
    assert counts.accepted == UPLOADS
    assert counts.lost == 0, f"{counts.lost}/{counts.accepted} accepted uploads never finished"
    assert counts.ready == UPLOADS, f"{counts.ready}/{UPLOADS} READY ({counts.failed} FAILED)"
    if serverless_s < CALL_TIMEOUT_S - 2 * MAX_RECONNECT_MS / 1000:
        assert counts.client_errors == 0, (
            f"no server answered for {serverless_s:.1f} s, within the calls' {CALL_TIMEOUT_S:g} s "
            f"deadline, yet clients saw errors: {traffic.client_errors}"
        )
    gone_after = time.monotonic() - killed_at
    assert not orphans, (
        f"server process(es) {orphans} still ran {ORPHAN_WINDOW_S:g} s after their parent's "
        f"SIGKILL (checked {gone_after:.1f} s in)"
    )
