"""The importable client against a real server, PostgreSQL and S3 over HTTP."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from media.v1 import media_pb2 as pb
from PIL import Image
from prometheus_client import REGISTRY

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.api.server import RunningServer
from media_grpc.api.servicer import MediaServicer
from media_grpc.bootstrap import Application
from media_grpc.client import ClientError, MediaClient, Progress, Uploader, parse_purpose
from media_grpc.domain import lifecycle
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.model import Status
from media_grpc.service.watching import MediaWatching
from tests.integration.servers import serving

MiB = 1024 * 1024


class CountingProgress(Progress):
    def __init__(self) -> None:
        self.total = 0
        self.sent = 0

    def start(self, total: int, done: int) -> None:
        self.total = total

    def advance(self, n: int) -> None:
        self.sent += n


def png(path: Path, width: int, height: int) -> Path:
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        path, compress_level=1
    )
    return path


@pytest.fixture
def client(server: RunningServer, app: Application, unique_user: str) -> Iterator[MediaClient]:
    token = issue_token(app.settings.auth, unique_user)
    with MediaClient(f"127.0.0.1:{server.port}", token) as c:
        yield c


def test_a_small_file_goes_in_one_put_and_is_listed(client: MediaClient, tmp_path: Path) -> None:
    image = png(tmp_path / "small.png", 40, 30)
    progress = CountingProgress()

    media = Uploader(client, wait=False, progress=progress).upload(
        image, parse_purpose("post_image")
    )

    assert media.status == pb.STATUS_UPLOADED
    assert progress.sent == progress.total == image.stat().st_size
    assert client.get(media.id).file_name == "small.png"
    assert [m.id for m in client.list()] == [media.id]
    assert not (tmp_path / "small.png.upload-state.json").exists()


def test_a_large_file_goes_in_parallel_parts(client: MediaClient, tmp_path: Path) -> None:
    image = png(tmp_path / "large.png", 1900, 1700)
    assert image.stat().st_size > 9 * MiB
    uploader = Uploader(client, wait=False, parallel=2)

    media = uploader.upload(image, parse_purpose("POST_IMAGE"))

    assert media.status == pb.STATUS_UPLOADED
    assert sorted(uploader.sent_parts) == [1, 2]
    assert media.size_bytes == image.stat().st_size


def test_a_large_file_is_hashed_while_it_is_sent_and_its_sha256_given_at_completion(
    client: MediaClient, tmp_path: Path
) -> None:
    image = png(tmp_path / "large.png", 1900, 1700)
    uploader = Uploader(client, wait=False, parallel=2, hash_while_sending_bytes=MiB)

    media = uploader.upload(image, parse_purpose("POST_IMAGE"))

    assert media.status == pb.STATUS_UPLOADED
    assert media.sha256 == hashlib.sha256(image.read_bytes()).hexdigest()
    assert client.get(media.id).sha256 == media.sha256


def test_a_file_its_owner_has_ready_is_not_sent_again_and_a_new_ready_media_returned(
    client: MediaClient, app: Application, tmp_path: Path
) -> None:
    image = png(tmp_path / "again.png", 60, 40)
    first = Uploader(client, wait=False).upload(image, parse_purpose("post_image"))
    assert first.sha256 == hashlib.sha256(image.read_bytes()).hexdigest()  # declared first
    mark_ready(app, first.id, verified_sha256=first.sha256)
    progress = CountingProgress()
    uploader = Uploader(client, wait=False, progress=progress)

    again = uploader.upload(image, parse_purpose("post_image"))

    assert again.status == pb.STATUS_READY
    assert again.id != first.id
    assert progress.sent == 0
    assert uploader.deduplicated == again
    assert not (tmp_path / "again.png.upload-state.json").exists()


def mark_ready(app: Application, media_id: str, verified_sha256: str | None = None) -> None:
    """What a worker does at the end, without a worker."""
    with app.ctx.uow() as uow:
        record = uow.media.get(media_id, for_update=True)
        assert record is not None
        record.verified_sha256 = verified_sha256
        lifecycle.move(record, Status.READY, app.ctx.now())
        uow.media.save(record)
        uow.commit()


class NoWatchServicer(MediaServicer):
    """A server that cannot stream, as an older release answers."""

    async def WatchMedia(  # noqa: N802 (the proto method name)
        self, request: pb.WatchMediaRequest, context: object
    ) -> AsyncIterator[pb.WatchMediaResponse]:
        raise FailedPrecondition("WatchMedia is not available in this version of media-grpc")
        yield  # an async generator, as streams on the aio server are


def test_watch_falls_back_to_polling_where_the_server_cannot_stream(
    app: Application, unique_user: str, tmp_path: Path
) -> None:
    token = issue_token(app.settings.auth, unique_user)
    with (
        serving(app, servicer=app.servicer(NoWatchServicer)) as running,
        MediaClient(f"127.0.0.1:{running.port}", token) as client,
    ):
        media = Uploader(client, wait=False).upload(
            png(tmp_path / "w.png", 20, 20), parse_purpose("post_image")
        )
        with pytest.raises(ClientError, match="still UPLOADED"):
            client.wait(media.id, timeout=1.5)
        mark_ready(app, media.id)

        ready = client.wait(media.id, timeout=10)

    assert ready.status == pb.STATUS_READY


def test_a_bad_purpose_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match="unknown purpose 'banner'"):
        parse_purpose("banner")


def test_watch_opens_the_stream_again_when_the_server_ends_it_early(
    app: Application, unique_user: str, tmp_path: Path
) -> None:
    short_watches = MediaWatching(app.ctx, poll_interval=0.05, max_seconds=0.3)
    servicer = app.servicer(watching=short_watches)
    token = issue_token(app.settings.auth, unique_user)
    watches_before = REGISTRY.get_sample_value(
        "media_rpc_requests_total", {"method": "WatchMedia", "code": "OK"}
    )
    with (
        serving(app, servicer=servicer) as running,
        MediaClient(f"127.0.0.1:{running.port}", token) as client,
    ):
        media = Uploader(client, wait=False).upload(
            png(tmp_path / "r.png", 20, 20), parse_purpose("post_image")
        )
        ready_later = threading.Timer(1.0, mark_ready, args=(app, media.id))
        ready_later.start()
        seen = [pb.Status.Name(m.status) for m in client.watch(media.id, timeout=10)]
        ready_later.join()

    assert seen == ["STATUS_UPLOADED", "STATUS_READY"]
    watches = REGISTRY.get_sample_value(
        "media_rpc_requests_total", {"method": "WatchMedia", "code": "OK"}
    )
    assert (watches or 0) - (watches_before or 0) >= 2  # ended early at least once, reopened
