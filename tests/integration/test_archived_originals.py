"""Archived originals: RetryProcessing answers FAILED_PRECONDITION and starts the restore."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from tests.integration.records import load, store
from tests.media_records import make_media

Auth = Callable[..., list[tuple[str, str]]]


def failed_with_original_in(app: Application, owner: str, storage_class: str) -> Media:
    media = make_media(owner, status=Status.FAILED)
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "the worker gave up")
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket,
        Key=media.storage_key,
        Body=b"\xff\xd8\xff" + bytes(100),
        ContentType="image/jpeg",
        StorageClass=storage_class,
    )
    media.etag = app.storage.head(media.storage_key).etag
    return store(app, media)


def test_retry_processing_of_an_archived_original_is_a_failed_precondition_and_restores_it(
    app: Application, stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    media = failed_with_original_in(app, unique_user, "GLACIER")

    with pytest.raises(grpc.RpcError) as refused:
        stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=media.id), metadata=auth(unique_user)
        )

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is archived (storage class GLACIER)" in refused.value.details()
    assert "a restore for 7 day(s) has been started" in refused.value.details()
    head = app.s3_client.head_object(Bucket=app.settings.s3_bucket, Key=media.storage_key)
    assert "Restore" in head
    assert load(app, media.id).status is Status.FAILED


def test_retry_processing_of_a_restored_original_is_queued(
    app: Application, stub: media_pb2_grpc.MediaServiceStub, auth: Auth, unique_user: str
) -> None:
    media = failed_with_original_in(app, unique_user, "GLACIER")
    app.s3_client.restore_object(
        Bucket=app.settings.s3_bucket, Key=media.storage_key, RestoreRequest={"Days": 1}
    )
    head = app.s3_client.head_object(Bucket=app.settings.s3_bucket, Key=media.storage_key)
    assert 'ongoing-request="false"' in head["Restore"]  # moto restores at once

    retried = stub.RetryProcessing(
        pb.RetryProcessingRequest(media_id=media.id), metadata=auth(unique_user)
    )

    assert retried.media.status == pb.STATUS_UPLOADED
