"""What a client (or an attacker) does against the strict S3, for these tests."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from media.v1 import media_pb2 as pb
from PIL import Image

from media_grpc.adapters.s3_storage import S3BlobStorage
from media_grpc.bootstrap import Application
from tests import upload_sessions
from tests.strict_s3.service import RunningService
from tests.waiting import eventually

MiB = 1024 * 1024


def png_bytes(width: int = 96, height: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def big_png_like(size: int) -> bytes:
    """PNG magic and random bytes: completion sniffs the first 64 KiB only, so this completes
    (the job, which decodes it, fails it later; these tests are about storage)."""
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def session(
    service: RunningService, user: str, data: bytes, *, sha256: str = ""
) -> pb.CreateUploadSessionResponse:
    """A session for a PNG of ``data``'s size (with a declared ``sha256``, hex, if given)."""
    return upload_sessions.create_session(
        service.stub, service.auth(user), data, file_name="photo.png", sha256=sha256
    )


def uploaded(service: RunningService, user: str, data: bytes) -> str:
    """A PNG session, its PUT and its completion: the media id."""
    return upload_sessions.upload(service.stub, service.auth(user), data, file_name="photo.png")


def tampered(url: str) -> str:
    """The URL with the last character of its signature changed."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    changed = [
        (k, v[:-1] + ("0" if v[-1] != "0" else "1")) if k == "X-Amz-Signature" else (k, v)
        for k, v in query
    ]
    return urlunsplit(parts._replace(query=urlencode(changed)))


def unsigned(url: str) -> str:
    """The URL without any query: an anonymous request to the same key."""
    return urlunsplit(urlsplit(url)._replace(query=""))


def put(url: str, data: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(url, data=data, headers=headers or {}, timeout=30)


@contextmanager
def presigning_in_the_past(app: Application, ago: timedelta) -> Iterator[None]:
    """URLs the service hands out meanwhile are signed ``ago`` in the past: with ``ago`` over
    their lifetime, the store sees them as expired (the session itself is fresh)."""
    storage = app.storage
    assert isinstance(storage, S3BlobStorage) and storage.presigner is not None
    presigner = storage.presigner
    real = presigner.clock
    presigner.clock = lambda: datetime.now(UTC) - ago
    try:
        yield
    finally:
        presigner.clock = real


def part_urls(service: RunningService, user: str, media_id: str, numbers: list[int]) -> list[str]:
    answer = service.stub.GetUploadPartUrls(
        pb.GetUploadPartUrlsRequest(media_id=media_id, part_numbers=numbers),
        metadata=service.auth(user),
    )
    return [u.url for u in answer.part_urls]


def send_parts(urls: list[str], data: bytes, part_size: int) -> list[pb.CompletedPart]:
    """PUT each part to its URL; the parts with the ETags storage answered."""
    parts = []
    for number, url in enumerate(urls, start=1):
        body = data[(number - 1) * part_size : number * part_size]
        answer = put(url, body)
        answer.raise_for_status()
        parts.append(pb.CompletedPart(part_number=number, etag=answer.headers["ETag"]))
    return parts


def ready_media(service: RunningService, user: str) -> pb.Media:
    """An image uploaded, completed and processed by the in-process worker: READY."""
    media_id = uploaded(service, user, png_bytes(640, 480))

    def media() -> pb.Media:
        got = get_media(service, user, media_id)
        assert got.status != pb.STATUS_FAILED, got.failure.message
        return got

    return eventually(
        lambda: (m := media()).status == pb.STATUS_READY and m, "the media READY", timeout=60
    )


def get_media(service: RunningService, user: str, media_id: str) -> pb.Media:
    answer: pb.GetMediaResponse = service.stub.GetMedia(
        pb.GetMediaRequest(media_id=media_id), metadata=service.auth(user)
    )
    return answer.media
