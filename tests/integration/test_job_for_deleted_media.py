"""A job whose media is deleted while its stage runs, on PostgreSQL and the strict S3."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from media_grpc.adapters.job_locks import job_locks_for
from media_grpc.bootstrap import Application
from media_grpc.domain import keys
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.deletion import MediaDeletion
from tests.integration.records import load, store
from tests.media_records import make_media
from tests.unit.service.test_process_media import DeletingStage
from workers.job_handler import Handled, JobHandler


def test_job_for_media_deleted_mid_stage_is_skipped_and_leaves_no_object(
    app: Application,
) -> None:
    owner = f"deleter-{uuid.uuid4().hex[:8]}"
    media = make_media(owner, status=Status.UPLOADED)
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (1, 2, 3)).save(buffer, "PNG")
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket, Key=media.storage_key, Body=buffer.getvalue()
    )
    media.etag = app.storage.head(media.storage_key).etag
    store(app, media)
    stage = DeletingStage(MediaDeletion(app.ctx), media.id, Principal(owner))
    handler = JobHandler(app.ctx, job_locks_for(app.engine), {JobKind.IMAGE: stage})

    handled = handler.handle(ProcessingJob.for_media(str(uuid.uuid4()), media, media.created_at))

    assert handled is Handled.SKIPPED
    assert load(app, media.id).status is Status.DELETED
    prefix = keys.output_prefix(media.storage_key, video=False)
    assert app.storage.list_keys(prefix) == []
    assert app.storage.list_keys(media.storage_key) == []
