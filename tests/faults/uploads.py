"""Upload traffic as the client library's users make it, while a fault happens: each thread
has a channel of its own (so connections spread over server processes), creates a session
with an idempotency key, PUTs the bytes and completes; a step that fails as the client sees it
(after the channel's own retries) is counted and tried again, as an app would."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import grpc
import requests
from media.v1 import media_pb2 as pb

from media_grpc.client import MediaClient
from media_grpc.domain.model import Status
from tests.faults.report import FaultCounts
from tests.waiting import eventually

T = TypeVar("T")

#: Seconds a thread waits before trying a failed step again.
STEP_RETRY_SECONDS = 0.2
#: Deadline, in seconds, of each call: the client library's default (it waits within it for a
#: server that is away).
CALL_TIMEOUT_S = 30.0


class UploadTraffic:
    """``threads`` uploaders to ``address`` until ``target`` uploads were accepted (their
    CompleteUpload answered OK)."""

    def __init__(self, address: str, token: str, data: bytes, target: int, threads: int = 4):
        self.address = address
        self.token = token
        self.data = data
        self.target = target
        self.accepted: list[str] = []
        self.client_errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> UploadTraffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def snapshot(self) -> list[str]:
        """The uploads accepted so far."""
        with self._lock:
            return list(self.accepted)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def errors(self) -> int:
        with self._lock:
            return sum(self.client_errors.values())

    def wait_accepted(self, count: int, timeout: float) -> None:
        eventually(
            lambda: self.count() >= count,
            lambda: f"{count} accepted uploads (have {self.count()}, errors {self.client_errors})",
            timeout,
        )

    def _claim(self) -> bool:
        with self._lock:
            return len(self.accepted) < self.target and not self._stop.is_set()

    def _run(self) -> None:
        with MediaClient(self.address, self.token, timeout=CALL_TIMEOUT_S) as client:
            while self._claim():
                media_id = self._upload_one(client)
                if media_id is None:
                    return
                with self._lock:
                    if len(self.accepted) < self.target:
                        self.accepted.append(media_id)

    def _upload_one(self, client: MediaClient) -> str | None:
        key = uuid.uuid4().hex
        session = self._step(
            "CreateUploadSession",
            lambda: client.stub.CreateUploadSession(
                pb.CreateUploadSessionRequest(
                    purpose=pb.PURPOSE_POST_IMAGE,
                    file_name="fault.png",
                    content_type="image/png",
                    size_bytes=len(self.data),
                    idempotency_key=key,
                ),
                metadata=client.metadata(),
                timeout=client.timeout,
            ),
        )
        if session is None:
            return None
        put = session.single_put
        response = requests.put(put.url, data=self.data, headers=dict(put.headers), timeout=30)
        response.raise_for_status()
        completed = self._step(
            "CompleteUpload",
            lambda: client.stub.CompleteUpload(
                pb.CompleteUploadRequest(media_id=session.media_id),
                metadata=client.metadata(),
                timeout=client.timeout,
            ),
        )
        return None if completed is None else str(session.media_id)

    def _step(self, name: str, call: Callable[[], T]) -> T | None:
        while not self._stop.is_set():
            try:
                return call()
            except grpc.RpcError as e:
                label = f"{name} {e.code().name}"  # type: ignore[attr-defined]
                with self._lock:
                    self.client_errors[label] = self.client_errors.get(label, 0) + 1
                self._stop.wait(STEP_RETRY_SECONDS)
        return None


def seconds_to_final(
    media_ids: list[str], status_of: Callable[[str], Status], since: float, timeout: float
) -> float | None:
    """Seconds from ``since`` (a dependency's return) until every one of ``media_ids`` (the
    uploads accepted until then) is READY or FAILED; None if that takes over ``timeout``."""
    final = {Status.READY, Status.FAILED}
    waiting = set(media_ids)

    def all_final() -> bool:
        waiting.difference_update({m for m in list(waiting) if status_of(m) in final})
        return not waiting

    try:
        eventually(all_final, "the uploads accepted before the return to finish", timeout)
    except AssertionError:
        return None
    return time.monotonic() - since


def seconds_to_first_final(
    media_ids: list[str], status_of: Callable[[str], Status], since: float, timeout: float
) -> float | None:
    """Seconds from ``since`` until the first of ``media_ids`` not READY or FAILED at the call
    is (jobs flow again); 0 if none was waiting; None after ``timeout``."""
    final = {Status.READY, Status.FAILED}
    waiting = [m for m in media_ids if status_of(m) not in final]
    if not waiting:
        return 0.0
    try:
        eventually(lambda: any(status_of(m) in final for m in waiting), "a waiting upload", timeout)
    except AssertionError:
        return None
    return time.monotonic() - since


def settle(
    fault: str,
    traffic: UploadTraffic,
    status_of: Callable[[str], Status],
    returned_at: float,
    timeout: float,
    recovered_s: float | None = None,
    flowing_s: float | None = None,
) -> FaultCounts:
    """Wait up to ``timeout`` seconds for every accepted upload to end READY or FAILED; the
    counts, with ``recovered_s`` if given, else the seconds from ``returned_at`` (the
    dependency's return) to the end."""
    final = {Status.READY, Status.FAILED}
    statuses: dict[str, Status] = {}

    def all_final() -> bool:
        statuses.update({m: status_of(m) for m in traffic.accepted if statuses.get(m) not in final})
        return all(s in final for s in statuses.values())

    with contextlib.suppress(AssertionError):  # counted as lost below
        eventually(all_final, "every accepted upload READY or FAILED", timeout)
    recovered = time.monotonic() - returned_at if recovered_s is None else recovered_s
    values = list(statuses.values())
    return FaultCounts(
        fault=fault,
        accepted=len(traffic.accepted),
        ready=values.count(Status.READY),
        failed=values.count(Status.FAILED),
        lost=sum(s not in final for s in values),
        client_errors=traffic.errors(),
        recovered_s=recovered,
        flowing_s=flowing_s,
    )
