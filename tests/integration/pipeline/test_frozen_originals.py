"""The job freezes what completion verified, checks the declared sha256, trusts the database
and leaves nothing of a failure: through a real channel, PostgreSQL, RabbitMQ and the strict S3."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

import pytest
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.blob_storage import BlobNotFound
from media_grpc.adapters.rabbitmq_publisher import RabbitMqJobPublisher
from media_grpc.bootstrap import Application
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.keys import frozen_original_key, output_prefix
from media_grpc.domain.model import FailureReason, Status
from media_grpc.pipeline_bootstrap import topology_for
from media_grpc.service.cleanup import CleanupService
from tests.integration.pipeline.conftest import (
    media_of,
    png_bytes,
    running_pipeline,
    running_worker,
    upload,
    wait_for,
)
from tests.integration.pipeline.test_pipeline_never_loses_a_job import dead_letters
from tests.upload_sessions import put_upload
from tests.waiting import eventually

T = TypeVar("T")
Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def start_upload(
    stub: Stub, auth: Auth, user: str, data: bytes, **fields: object
) -> pb.CreateUploadSessionResponse:
    return put_upload(stub, auth(user), data, file_name="photo.png", **fields)


def complete(stub: Stub, auth: Auth, user: str, media_id: str) -> pb.Media:
    response = stub.CompleteUpload(pb.CompleteUploadRequest(media_id=media_id), metadata=auth(user))
    return response.media


def stored_keys(app: Application, storage_key: str) -> list[str]:
    """Every object the media has or had: upload key, frozen original, outputs."""
    found = app.storage.list_keys(storage_key)
    found += app.storage.list_keys(frozen_original_key(storage_key))
    return found + app.storage.list_keys(output_prefix(storage_key, video=False))


@pytest.mark.parametrize("declared_to", ["CreateUploadSession", "CompleteUpload"])
def test_a_sha256_mismatch_is_found_by_the_job_failed_and_nothing_is_left(
    declared_to: str, pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(200, 100)
    wrong = hashlib.sha256(data + b"!").hexdigest()
    if declared_to == "CreateUploadSession":
        session = start_upload(stub, auth, unique_user, data, sha256=wrong)
        assert complete(stub, auth, unique_user, session.media_id).status == pb.STATUS_UPLOADED
    else:
        session = start_upload(stub, auth, unique_user, data)
        completed = stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id, sha256=wrong),
            metadata=auth(unique_user),
        ).media
        assert (completed.status, completed.sha256) == (pb.STATUS_UPLOADED, wrong)

    with running_pipeline(pipeline_app):
        failed = wait_for(pipeline_app, session.media_id, {Status.FAILED, Status.READY})

    assert failed.failure is not None
    assert failed.failure.reason is FailureReason.CHECKSUM_MISMATCH
    assert hashlib.sha256(data).hexdigest() in failed.failure.message
    media = stub.GetMedia(
        pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user)
    ).media
    assert media.failure.reason == pb.FAILURE_REASON_CHECKSUM_MISMATCH
    assert list(media.variants) == []
    assert stored_keys(pipeline_app, failed.storage_key) == []


def test_a_put_after_ready_changes_nothing_served_or_processed_and_is_swept(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(320, 240)
    # No sha256 declared: the store would refuse other bytes under a signed checksum.
    session = start_upload(stub, auth, unique_user, data)
    complete(stub, auth, unique_user, session.media_id)
    with running_pipeline(pipeline_app):
        ready = wait_for(pipeline_app, session.media_id, {Status.READY, Status.FAILED})
    assert ready.status is Status.READY
    storage, frozen = pipeline_app.storage, frozen_original_key(ready.storage_key)
    served = {v.storage_key: storage.head(v.storage_key).etag for v in ready.variants}
    assert served

    script = b"<html><script>alert(1)</script></html>"
    hostile = requests.put(  # the single-PUT URL is still valid until expires_at
        session.single_put.url,
        data=script + b" " * (len(data) - len(script)),  # the signed length and type
        headers=dict(session.single_put.headers),
        timeout=10,
    )
    assert hostile.status_code == 200
    assert storage.read_range(ready.storage_key, 0, len(script) - 1) == script

    assert {key: storage.head(key).etag for key in served} == served
    assert storage.read_range(frozen, 0, len(data) - 1) == data
    got = stub.GetMedia(pb.GetMediaRequest(media_id=session.media_id), metadata=auth(unique_user))
    assert requests.get(got.media.original_url, timeout=10).content == data
    later = pipeline_app.ctx.now() + timedelta(hours=1)
    assert later > ready.expires_at
    swept = CleanupService(
        replace(pipeline_app.ctx, now=lambda: later), pipeline_app.settings.lifecycle
    ).run()
    assert swept.completed_uploads_swept >= 1
    assert storage.list_keys(ready.storage_key) == []
    after = media_of(pipeline_app, session.media_id)
    assert after.status is Status.READY
    assert after.upload_swept_at is not None
    assert {key: storage.head(key).etag for key in served} == served
    assert storage.read_range(frozen, 0, len(data) - 1) == data


def test_a_corrupt_file_that_fails_in_processing_leaves_no_object(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    good = png_bytes(64, 64)
    corrupt = good[:40] + bytes(len(good) - 40)  # PNG magic and header, then zeros
    session = start_upload(stub, auth, unique_user, corrupt)
    assert complete(stub, auth, unique_user, session.media_id).status == pb.STATUS_UPLOADED

    with running_pipeline(pipeline_app):
        failed = wait_for(pipeline_app, session.media_id, {Status.FAILED, Status.READY})

    assert failed.status is Status.FAILED
    assert failed.failure is not None
    assert stored_keys(pipeline_app, failed.storage_key) == []


def test_a_message_that_disagrees_with_the_record_is_dead_lettered_with_a_reason(
    pipeline_app: Application, unique_user: str
) -> None:
    victim = upload(pipeline_app, unique_user, png_bytes())
    media = media_of(pipeline_app, victim)
    honest = ProcessingJob.for_media(f"forged-{victim}", media, pipeline_app.ctx.now())
    forged = replace(honest, storage_key=f"uploads/posts/{unique_user}/someone-elses.png")
    publisher = RabbitMqJobPublisher(
        str(pipeline_app.settings.broker_url), topology_for(pipeline_app.settings)
    )
    with running_worker(pipeline_app):
        publisher.publish(forged)
        publisher.close()
        letters = poll(lambda: dead_letters(pipeline_app))

    [(job, headers)] = letters
    assert job.job_id == forged.job_id
    reason = str(headers["x-dead-reason"])
    assert "storage_key" in reason and "disagrees" in reason
    untouched = media_of(pipeline_app, victim)
    assert untouched.status is Status.UPLOADED
    assert untouched.failure is None
    assert pipeline_app.storage.head(media.storage_key).etag == media.etag
    with pytest.raises(BlobNotFound):
        pipeline_app.storage.head(frozen_original_key(media.storage_key))


def poll(probe: Callable[[], list[T]], timeout: float = 30) -> list[T]:
    """Call ``probe`` until it returns something, or fail after ``timeout`` seconds."""
    return eventually(probe, "something to arrive", timeout)
