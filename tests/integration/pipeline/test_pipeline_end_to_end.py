"""Uploads through the real pipeline: outbox, relay, RabbitMQ, worker, PostgreSQL, S3."""

from __future__ import annotations

import io
from collections.abc import Callable

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from media_grpc.bootstrap import Application
from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import FailureReason, Status
from tests.integration.pipeline.conftest import (
    BrokenStage,
    assert_one_variant_set,
    media_of,
    png_bytes,
    running_pipeline,
    upload,
    wait_for,
)
from tests.upload_sessions import put_upload

Auth = Callable[..., list[tuple[str, str]]]


def test_uploaded_image_reaches_ready_with_a_thumbnail_seen_through_watch_media(
    pipeline_app: Application,
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
) -> None:
    data = png_bytes(400, 300)
    session = put_upload(stub, auth(unique_user), data, file_name="sunset.png")
    with running_pipeline(pipeline_app):
        stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id), metadata=auth(unique_user)
        )
        updates = [
            r.media
            for r in stub.WatchMedia(
                pb.WatchMediaRequest(media_id=session.media_id),
                metadata=auth(unique_user),
                timeout=60,
            )
        ]

    statuses = [m.status for m in updates]
    assert statuses[-1] == pb.STATUS_READY
    assert set(statuses) <= {pb.STATUS_UPLOADED, pb.STATUS_PROCESSING, pb.STATUS_READY}
    ready = updates[-1]
    assert (ready.width, ready.height) == (400, 300)
    assert_one_variant_set(pipeline_app, media_of(pipeline_app, session.media_id))
    bucket = pipeline_app.settings.s3_bucket
    for variant in ready.variants:
        key = variant.url.split(f"/{bucket}/", 1)[1]
        assert key.startswith(output_prefix(ready.storage_key, video=False))
        stored = pipeline_app.s3_client.get_object(Bucket=bucket, Key=key)
        assert stored["ContentType"] == variant.mime_type
        assert "immutable" in stored["CacheControl"]
        with Image.open(io.BytesIO(stored["Body"].read())) as image:
            assert image.size == (variant.width, variant.height)
    got = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    assert got.original_url  # the owner's presigned GET, which only GetMedia gives
    got.ClearField("original_url")
    assert got == ready


def test_failed_media_can_be_retried_and_then_reaches_ready(
    pipeline_app: Application,
    stub: media_pb2_grpc.MediaServiceStub,
    auth: Auth,
    unique_user: str,
) -> None:
    media_id = upload(pipeline_app, unique_user, png_bytes())
    with running_pipeline(pipeline_app) as worker:
        stage = BrokenStage(worker)
        failed = wait_for(pipeline_app, media_id, {Status.FAILED})
        assert failed.failure is not None
        assert failed.failure.reason is FailureReason.PROCESSING_ERROR
        with pytest.raises(grpc.RpcError) as refused:
            stub.RetryProcessing(
                pb.RetryProcessingRequest(media_id=media_id), metadata=auth(unique_user + "x")
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        stage.broken = False
        retried = stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=media_id), metadata=auth(unique_user)
        ).media
        assert retried.status == pb.STATUS_UPLOADED
        ready = wait_for(pipeline_app, media_id, {Status.READY})
    assert_one_variant_set(pipeline_app, ready)
    with pytest.raises(grpc.RpcError) as again:
        stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=media_id), metadata=auth(unique_user)
        )
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
