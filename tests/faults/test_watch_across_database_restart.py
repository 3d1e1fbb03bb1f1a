"""Watchers across a PostgreSQL restart: the change feed's LISTEN connection is lost and comes
back, and every watcher still sees READY (on reconnect the feed re-reads what it watches)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb

from tests.faults.conftest import Served
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.test_database_restart import terminate_backends
from tests.unit.uploaded_media import png_bytes
from tests.waiting import eventually

pytestmark = pytest.mark.faults

WATCHERS = 5


class Watcher(threading.Thread):
    """Follows one WatchMedia stream to its end, keeping every status it was sent."""

    def __init__(self, served: Served, user: str, media_id: str) -> None:
        super().__init__(daemon=True)
        self.call = served.stub.WatchMedia(
            pb.WatchMediaRequest(media_id=media_id), metadata=served.auth(user), timeout=180
        )
        self.seen: list[int] = []
        self.error: grpc.RpcError | None = None

    def run(self) -> None:
        try:
            for answer in self.call:
                self.seen.append(answer.media.status)
        except grpc.RpcError as e:
            self.error = e


def complete_when_back(served: Served, user: str, media_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            served.complete(user, media_id, timeout=15)
            return
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise


def uploaded_image(served: Served, user: str) -> str:
    """A session whose (real, decodable) PNG is in storage; returns the media id."""
    data = png_bytes(64, 48)
    session = served.stub.CreateUploadSession(
        pb.CreateUploadSessionRequest(
            purpose=pb.PURPOSE_POST_IMAGE,
            file_name="watched.png",
            content_type="image/png",
            size_bytes=len(data),
        ),
        metadata=served.auth(user),
        timeout=30,
    )
    requests.put(
        session.single_put.url, data=data, headers=dict(session.single_put.headers), timeout=30
    ).raise_for_status()
    return str(session.media_id)


def open_watchers(served: Served, user: str, media_id: str) -> list[Watcher]:
    watchers = [Watcher(served, user, media_id) for _ in range(WATCHERS)]
    for watcher in watchers:
        watcher.start()
    eventually(lambda: all(w.seen for w in watchers), "the watchers' current state", 30)
    return watchers


def assert_all_saw_ready(watchers: list[Watcher], served: Served) -> None:
    for watcher in watchers:
        watcher.join(120)
    assert all(w.error is None for w in watchers), [w.error for w in watchers if w.error]
    assert all(w.seen[0] == pb.STATUS_PENDING for w in watchers)
    assert all(w.seen[-1] == pb.STATUS_READY for w in watchers), (
        [w.seen for w in watchers],
        "".join(served.output[-30:]),
    )
    assert served.process.poll() is None, "the server exited: " + "".join(served.output[-20:])


def test_watchers_still_see_ready_when_the_listener_connection_is_cut(
    serve: Callable[..., Served], fault_database: str, unique_user: str
) -> None:
    served = serve()
    media_id = uploaded_image(served, unique_user)
    watchers = open_watchers(served, unique_user, media_id)
    killed, _window = terminate_backends(fault_database)  # the LISTEN connection among them
    complete_when_back(served, unique_user, media_id, timeout=60)
    assert killed >= 1
    assert_all_saw_ready(watchers, served)


def test_watchers_across_a_database_restart_still_see_ready(
    serve: Callable[..., Served],
    restartable_database: tuple[PrivatePostgres, str],
    unique_user: str,
) -> None:
    postgres, database_url = restartable_database
    served = serve(env={"MEDIA_DATABASE_URL": database_url})
    media_id = uploaded_image(served, unique_user)
    watchers = open_watchers(served, unique_user, media_id)
    postgres.restart()
    complete_when_back(served, unique_user, media_id, timeout=60)
    assert_all_saw_ready(watchers, served)
