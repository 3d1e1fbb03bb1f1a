"""`serve` SIGKILLed while watchers are open, then started again: the client library's watch
reconnects with backoff and resumes from the current status, so every watcher sees its media
end READY with no error."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from media.v1 import media_pb2 as pb

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.client import MediaClient
from media_grpc.config.auth import AuthSettings
from tests.faults.conftest import Served
from tests.faults.report import FaultCounts, FaultReport
from tests.integration.pipeline.conftest import png_bytes
from tests.waiting import eventually

pytestmark = pytest.mark.faults

WATCHERS = 10


@dataclass
class Watcher:
    media_id: str
    seen: list[int] = field(default_factory=list)
    error: Exception | None = None
    finished_at: float | None = None

    def run(self, address: str, token: str) -> None:
        try:
            with MediaClient(address, token) as client:
                for media in client.watch(self.media_id, timeout=180):
                    self.seen.append(media.status)
        except Exception as e:  # noqa: BLE001 - counted as a client-visible error
            self.error = e
        self.finished_at = time.monotonic()


def test_watchers_ride_out_a_killed_serve_and_see_their_media_ready(
    serve: Callable[..., Served], fault_report: FaultReport, unique_user: str
) -> None:
    first = serve()
    token = issue_token(AuthSettings(), unique_user)
    data = png_bytes()
    watchers = [Watcher(first.uploaded_session(unique_user, data)) for _ in range(WATCHERS)]
    threads = [
        threading.Thread(target=w.run, args=(first.address, token), daemon=True) for w in watchers
    ]
    for thread in threads:
        thread.start()
    eventually(lambda: all(w.seen for w in watchers), "every watcher's first message", 60)

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    second = serve(env={"MEDIA_S3_BUCKET": first.bucket}, address=first.address)
    returned_at = time.monotonic()
    for w in watchers:
        second.complete(unique_user, w.media_id)
    for thread in threads:
        thread.join(180)

    ready = [w for w in watchers if w.seen and w.seen[-1] == pb.STATUS_READY]
    failed = [w for w in watchers if w.seen and w.seen[-1] == pb.STATUS_FAILED]
    errors = [w for w in watchers if w.error is not None]
    finished = [w.finished_at for w in watchers if w.finished_at is not None]
    fault_report.record(
        FaultCounts(
            fault=f"serve SIGKILL with {WATCHERS} watchers open",
            accepted=WATCHERS,
            ready=len(ready),
            failed=len(failed),
            lost=WATCHERS - len(ready) - len(failed),
            client_errors=len(errors),
            recovered_s=max(finished) - returned_at if finished else None,
        )
    )
    assert not errors, f"{len(errors)}/{WATCHERS} watchers failed: {errors[0].error!r}"
    assert len(ready) == WATCHERS, (
        f"{len(ready)}/{WATCHERS} watchers saw READY: "
        f"{[[pb.Status.Name(s) for s in w.seen] for w in watchers]}"
    )
    for w in watchers:
        assert w.seen[0] == pb.STATUS_PENDING, "the first message is the status at watch time"
        assert len(w.seen) == len(set(w.seen)), f"a status seen twice: {w.seen}"
