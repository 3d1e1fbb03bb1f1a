"""Multipart uploads in the embedded default (`media-grpc serve`: SQLite, the local S3)."""

from __future__ import annotations

import hashlib

import grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.e2e.conftest import ServedProcess
from tests.integration.uploading import PartSender
from tests.samples import mp4_like

DATA = mp4_like(12 * 1024 * 1024)


def test_embedded_default_takes_a_multipart_upload_and_an_abort(
    embedded_server: ServedProcess,
) -> None:
    token = embedded_server.cli("token", "--user", "newcomer").strip()
    metadata = [("authorization", f"Bearer {token}")]
    request = pb.CreateUploadSessionRequest(
        purpose=pb.PURPOSE_POST_VIDEO,
        file_name="clip.mp4",
        content_type="video/mp4",
        size_bytes=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
    )
    with grpc.insecure_channel(embedded_server.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        session = stub.CreateUploadSession(request, metadata=metadata)
        plan = session.multipart
        etags = PartSender(DATA, plan.part_size).send(plan.part_urls)
        completed = stub.CompleteUpload(
            pb.CompleteUploadRequest(
                media_id=session.media_id,
                parts=[pb.CompletedPart(part_number=n, etag=e) for n, e in etags.items()],
            ),
            metadata=metadata,
        ).media

        abandoned = stub.CreateUploadSession(request, metadata=metadata)
        aborted = stub.AbortUpload(
            pb.AbortUploadRequest(media_id=abandoned.media_id), metadata=metadata
        ).media

    assert plan.part_count == 2
    assert completed.status == pb.STATUS_UPLOADED
    assert completed.mime_type == "video/mp4"
    assert aborted.status == pb.STATUS_FAILED
    assert aborted.failure.reason == pb.FAILURE_REASON_ABORTED
