"""SIGTERM with RPCs in flight: the server stops taking calls, finishes those it has, exits 0."""

from __future__ import annotations

import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from media.v1 import media_pb2 as pb

from tests.faults.conftest import Served
from tests.faults.load import wait_for
from tests.faults.proxy import FaultyS3Proxy

pytestmark = pytest.mark.faults

IN_FLIGHT = 16


def test_sigterm_lets_every_in_flight_call_finish(
    serve: Callable[..., Served], s3_proxy: FaultyS3Proxy, unique_user: str
) -> None:
    served = serve("--grace", "30")
    media_ids = [served.uploaded_session(unique_user) for _ in range(IN_FLIGHT)]
    s3_proxy.head_delay = 1.5

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        calls = [pool.submit(served.complete, unique_user, m) for m in media_ids]
        wait_for(
            lambda: s3_proxy.heads_waiting >= IN_FLIGHT,
            30,
            f"{IN_FLIGHT} CompleteUpload calls waiting on storage",
        )
        served.process.send_signal(signal.SIGTERM)
        errors = [call.exception(timeout=60) for call in calls]

    failed = [e for e in errors if e is not None]
    assert not failed, (
        f"{IN_FLIGHT - len(failed)}/{IN_FLIGHT} in-flight CompleteUpload calls succeeded "
        f"across SIGTERM; first failure: {failed[0]}"
    )
    statuses = {call.result().status for call in calls}
    assert statuses == {pb.STATUS_UPLOADED}, f"statuses after completion: {statuses}"
    assert served.process.wait(timeout=60) == 0, "".join(served.output[-20:])
    print(f"\n{IN_FLIGHT}/{IN_FLIGHT} in-flight calls finished after SIGTERM; exit code 0")
