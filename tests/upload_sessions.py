"""What a client does to upload over gRPC, for the tests of every folder: a session, the PUT of
the bytes to its presigned URL, the completion. The caller's metadata says who uploads."""

from __future__ import annotations

from typing import Any

import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

Metadata = list[tuple[str, str]]
Stub = media_pb2_grpc.MediaServiceStub


def create_session(
    stub: Stub,
    metadata: Metadata,
    data: bytes,
    *,
    purpose: int = pb.PURPOSE_POST_IMAGE,
    content_type: str = "image/png",
    file_name: str = "upload.png",
    timeout: float | None = None,
    **fields: object,
) -> pb.CreateUploadSessionResponse:
    """A session for ``data`` (its size declared), with any other request ``fields`` set; the
    call given ``timeout`` seconds (no deadline by default)."""
    request = pb.CreateUploadSessionRequest(
        purpose=purpose, file_name=file_name, content_type=content_type, size_bytes=len(data)
    )
    for name, value in fields.items():
        setattr(request, name, value)
    response: pb.CreateUploadSessionResponse = stub.CreateUploadSession(
        request, metadata=metadata, timeout=timeout
    )
    return response


def put_single(session: pb.CreateUploadSessionResponse, data: bytes, timeout: float = 30) -> None:
    """PUT ``data`` to the session's presigned URL with the headers it names; fails on a
    refusal."""
    answer = requests.put(
        session.single_put.url, data=data, headers=dict(session.single_put.headers), timeout=timeout
    )
    answer.raise_for_status()


def put_upload(
    stub: Stub, metadata: Metadata, data: bytes, **request: Any
) -> pb.CreateUploadSessionResponse:
    """A session (``request`` as for ``create_session``) and its bytes stored: not completed."""
    session = create_session(stub, metadata, data, **request)
    put_single(session, data)
    return session


def upload(stub: Stub, metadata: Metadata, data: bytes, **request: Any) -> str:
    """A session, its PUT and CompleteUpload: the media id."""
    session = put_upload(stub, metadata, data, **request)
    stub.CompleteUpload(pb.CompleteUploadRequest(media_id=session.media_id), metadata=metadata)
    return str(session.media_id)
