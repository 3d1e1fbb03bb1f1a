"""What a client does to upload, for the integration tests: sessions, PUTs, checks of storage."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc
import pytest
import requests
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import func, select

from media_grpc.adapters.orm import OutboxRow
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from tests import upload_sessions

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def create_session(
    stub: Stub,
    auth: Auth,
    user: str,
    data: bytes,
    *,
    purpose: int = pb.PURPOSE_POST_IMAGE,
    content_type: str = "image/png",
    **fields: object,
) -> pb.CreateUploadSessionResponse:
    return upload_sessions.create_session(
        stub,
        auth(user),
        data,
        purpose=purpose,
        content_type=content_type,
        file_name="upload.bin",
        **fields,
    )


put_single = upload_sessions.put_single


class PartSender:
    """PUTs parts to presigned URLs in parallel and counts the PUTs per part number."""

    def __init__(self, data: bytes, part_size: int) -> None:
        self.data = data
        self.part_size = part_size
        self.puts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def send(self, urls: Iterable[pb.PartUrl], workers: int = 4) -> dict[int, str]:
        """{part number: ETag} of the parts sent."""
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(pool.map(self._put, list(urls)))

    def _put(self, url: pb.PartUrl) -> tuple[int, str]:
        n = url.part_number
        body = self.data[(n - 1) * self.part_size : n * self.part_size]
        answer = requests.put(url.url, data=body, timeout=60)
        answer.raise_for_status()
        with self._lock:
            self.puts[n] += 1
        return n, answer.headers["ETag"]


def complete(
    stub: Stub, auth: Auth, user: str, media_id: str, etags: dict[int, str] | None = None
) -> pb.Media:
    parts = [pb.CompletedPart(part_number=n, etag=e) for n, e in sorted((etags or {}).items())]
    answer: pb.CompleteUploadResponse = stub.CompleteUpload(
        pb.CompleteUploadRequest(media_id=media_id, parts=parts), metadata=auth(user)
    )
    return answer.media


def get_media(stub: Stub, auth: Auth, user: str, media_id: str) -> pb.Media:
    answer: pb.GetMediaResponse = stub.GetMedia(
        pb.GetMediaRequest(media_id=media_id), metadata=auth(user)
    )
    return answer.media


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def error_reason(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a verification failure."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert any(detail.Unpack(info) for detail in status.details)
    return info.reason


def outbox_jobs(app: Application, media_id: str) -> int:
    with app.engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.media_id == media_id)
        )
    return int(count or 0)


def uploads_in_progress(app: Application, prefix: str) -> list[str]:
    answer = app.s3_client.list_multipart_uploads(Bucket=app.settings.s3_bucket, Prefix=prefix)
    return [str(u["Key"]) for u in answer.get("Uploads", [])]


def assert_storage_empty(app: Application, prefix: str) -> None:
    assert app.storage.list_keys(prefix) == []
    assert uploads_in_progress(app, prefix) == []


@contextmanager
def another_server(
    settings: Settings, bucket: str | None = None, **upload_settings: object
) -> Iterator[Stub]:
    """A second server process's worth of objects on the same database (and bucket, unless
    another is named)."""
    uploads = settings.uploads.model_copy(update=upload_settings)
    application = build_application(
        settings.model_copy(update={"uploads": uploads, "s3_bucket": bucket or settings.s3_bucket})
    )
    running = application.serve("127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield media_pb2_grpc.MediaServiceStub(channel)
    finally:
        running.stop(1)
        application.close()


def outbox_payloads(app: Application, media_id: str) -> list[dict[str, object]]:
    with app.engine.connect() as conn:
        rows = conn.scalars(select(OutboxRow.payload).where(OutboxRow.media_id == media_id))
        return [dict(payload) for payload in rows]
