"""Storage answering 503 SlowDown for a while: boto3's standard retry mode rides it out."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from media.v1 import media_pb2 as pb

from tests.faults.conftest import Served
from tests.faults.proxy import FaultyS3Proxy

pytestmark = pytest.mark.faults

UPLOADS = 20
SLOW_DOWNS = 30


def test_completions_succeed_while_storage_answers_slow_down(
    serve: Callable[..., Served], s3_proxy: FaultyS3Proxy, unique_user: str
) -> None:
    served = serve()
    media_ids = [served.uploaded_session(unique_user) for _ in range(UPLOADS)]
    s3_proxy.slow_down(SLOW_DOWNS)

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lambda m: complete(served, unique_user, m), media_ids))

    completed = sum(status == pb.STATUS_UPLOADED for status in outcomes)
    assert s3_proxy.slow_downs_sent == SLOW_DOWNS, (
        f"storage sent {s3_proxy.slow_downs_sent}/{SLOW_DOWNS} SlowDown answers"
    )
    assert completed == UPLOADS, (
        f"{completed}/{UPLOADS} completed through {SLOW_DOWNS} SlowDown answers: {outcomes}"
    )
    print(f"\n{completed}/{UPLOADS} completed through {SLOW_DOWNS} SlowDown answers")


def complete(served: Served, user: str, media_id: str) -> object:
    try:
        return served.complete(user, media_id).status
    except Exception as e:  # noqa: BLE001 - the figure reports every failure
        return repr(e)[:200]
