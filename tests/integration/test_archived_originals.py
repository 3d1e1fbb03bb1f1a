"""Archived originals: RetryProcessing answers FAILED_PRECONDITION and starts the restore.

These run on the embedded S3 (src/media_grpc/embedded), not on the strict S3: they need an
object in an archive class (GLACIER) and a restore that completes, and the strict S3 (Ceph's
RADOS Gateway, Pacific) has no GLACIER class and no RestoreObject (it answers NotImplemented).
That an original really moves to an archive class under `storage init`'s lifecycle rule is
proven on the strict S3 by the archive lifecycle test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from pydantic import SecretStr

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.domain.model import Failure, FailureReason, Media, Status
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, LocalS3
from tests.integration.records import load, store
from tests.media_records import make_media

Auth = Callable[..., list[tuple[str, str]]]


@pytest.fixture(scope="module")
def app(settings: Settings) -> Iterator[Application]:
    """The run's settings on an embedded S3 of this module's own (see the module's docstring)."""
    embedded = LocalS3(port=0)
    configured = settings.model_copy(
        update={
            "s3_endpoint_url": embedded.start(),
            "s3_access_key_id": EMBEDDED_ACCESS_KEY,
            "s3_secret_access_key": SecretStr(EMBEDDED_SECRET_KEY),
            "s3_bucket": f"media-archived-{uuid.uuid4().hex[:8]}",
        }
    )
    application = build_application(configured, migrate=False)
    application.s3_client.create_bucket(Bucket=configured.s3_bucket)
    yield application
    application.close()
    embedded.stop()


@pytest.fixture(scope="module")
def stub(app: Application) -> Iterator[media_pb2_grpc.MediaServiceStub]:
    running = app.serve("127.0.0.1:0")
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield media_pb2_grpc.MediaServiceStub(channel)
    running.stop(1)


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
    assert 'ongoing-request="false"' in head["Restore"]  # the embedded S3 restores at once

    retried = stub.RetryProcessing(
        pb.RetryProcessingRequest(media_id=media.id), metadata=auth(unique_user)
    )

    assert retried.media.status == pb.STATUS_UPLOADED
