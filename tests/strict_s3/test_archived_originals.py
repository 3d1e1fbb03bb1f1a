"""Archive proven on a strict S3, not only configured: the lifecycle rule `storage init` writes
moves frozen originals to the archive class and leaves the variants alone; then RetryProcessing,
the job that needs the original again, does what docs/operations.md says.

A strict S3 of the test's own (scripts/strict-s3.sh ``run``) with two storage classes beside
STANDARD, and a lifecycle "day" of LC_DAY_SECONDS: `COLD`, a class read directly (as GLACIER_IR
or STANDARD_IA on AWS), and `GLACIER`, a class the service treats as needing a restore. Ceph's
RADOS Gateway has no RestoreObject (it answers NotImplemented), so for GLACIER the service must
name the key to restore by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb

from media_grpc.adapters.database import scratch_database
from media_grpc.config.storage import StorageSettings
from media_grpc.domain.keys import ORIGINALS_PREFIX, UPLOADS_PREFIX
from media_grpc.domain.model import JobKind
from tests.integration.uploading import rpc_error
from tests.services import S3Service, postgres_url
from tests.strict_s3.private_cluster import private_strict_s3
from tests.strict_s3.service import RunningService, running_service, strict_settings
from tests.strict_s3.uploads import get_media, png_bytes, ready_media, uploaded
from tests.waiting import eventually

#: Seconds of a lifecycle "day" on the test's own store (rgw lc debug interval).
LC_DAY_SECONDS = 3
ARCHIVE_CLASSES = ("COLD", "GLACIER")


@pytest.fixture(scope="module")
def archiving_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    """A strict S3 of this module's own with the archive classes, stopped afterwards (and with
    the test process, however it ends: tests/strict_s3/private_cluster.py)."""
    directory = tmp_path_factory.mktemp("archive") / "strict-s3"
    with private_strict_s3(directory, LC_DAY_SECONDS, ARCHIVE_CLASSES) as s3:
        yield s3


@pytest.fixture(scope="module")
def archive_database_url() -> Iterator[str]:
    with postgres_url() as server_url, scratch_database(server_url, "media_archive") as url:
        yield url


@pytest.fixture
def archiving_service(
    request: pytest.FixtureRequest, archiving_s3: S3Service, archive_database_url: str
) -> Iterator[RunningService]:
    """The service on a bucket whose `storage init` archived originals after one (short) day
    to the class the test is parametrised with."""
    storage = StorageSettings(archive_after_days=1, archive_storage_class=request.param)
    settings = strict_settings(archiving_s3, archive_database_url, storage)
    with running_service(settings) as running:
        yield running


class BrokenImageStage:
    """Stands in for the image stage while ``broken``: every attempt fails (a transient error),
    so the job ends FAILED with PROCESSING_ERROR and the frozen original is kept for a retry."""

    def __init__(self, service: RunningService) -> None:
        assert service.pipeline.queue is not None
        self.stages = service.pipeline.queue.middleware.handler.stages  # type: ignore[attr-defined]
        self.stage = self.stages[JobKind.IMAGE]
        self.broken = True
        self.stages[JobKind.IMAGE] = self

    def __call__(self, job: object, source: Path, work_dir: Path) -> object:
        if self.broken:
            raise OSError("scratch disk unavailable (a transient failure made by the test)")
        return self.stage(job, source, work_dir)


def failed_media(service: RunningService, user: str) -> pb.Media:
    media_id = uploaded(service, user, png_bytes(320, 240))
    return eventually(
        lambda: (m := get_media(service, user, media_id)).status == pb.STATUS_FAILED and m,
        "the media FAILED by the broken stage",
        timeout=30,
    )


def frozen_key(media: pb.Media) -> str:
    return ORIGINALS_PREFIX + media.storage_key.removeprefix(UPLOADS_PREFIX)


def storage_class(service: RunningService, key: str) -> str:
    head = service.s3.head_object(Bucket=service.bucket, Key=key)
    return str(head.get("StorageClass") or "STANDARD")


def archived(service: RunningService, *media: pb.Media) -> Callable[[], bool]:
    archive_class = service.app.settings.storage.archive_storage_class
    return lambda: all(storage_class(service, frozen_key(m)) == archive_class for m in media)


def variant_keys(media: pb.Media) -> list[str]:
    return [v.url.removeprefix(media.cdn_url + "/") for v in media.variants]


def archive_both(service: RunningService, user: str) -> tuple[pb.Media, pb.Media]:
    """A READY media (variants made) and a FAILED one (the stage broken), both originals in
    the archive class once the lifecycle ran; the variants still STANDARD."""
    ready = ready_media(service, user)
    stage = BrokenImageStage(service)
    failed = failed_media(service, user)
    stage.broken = False
    assert failed.failure.reason == pb.FAILURE_REASON_PROCESSING_ERROR

    eventually(
        archived(service, ready, failed), "the originals archived", timeout=20 * LC_DAY_SECONDS
    )

    assert variant_keys(ready)
    assert all(storage_class(service, key) == "STANDARD" for key in variant_keys(ready))
    return ready, failed


@pytest.mark.parametrize("archiving_service", ["COLD"], indirect=True)
def test_an_original_in_a_class_read_directly_is_archived_and_a_retry_processes_it(
    archiving_service: RunningService, unique_user: str
) -> None:
    service = archiving_service
    ready, failed = archive_both(service, unique_user)

    retried = service.stub.RetryProcessing(
        pb.RetryProcessingRequest(media_id=failed.id), metadata=service.auth(unique_user)
    )

    assert retried.media.status == pb.STATUS_UPLOADED
    done = eventually(
        lambda: (m := get_media(service, unique_user, failed.id)).status == pb.STATUS_READY and m,
        "the retried media READY",
        timeout=30,
    )
    assert done.variants
    assert storage_class(service, frozen_key(failed)) == "COLD"
    original = get_media(service, unique_user, ready.id).original_url
    assert requests.get(original, timeout=10).status_code == 200


@pytest.mark.parametrize("archiving_service", ["GLACIER"], indirect=True)
def test_an_original_in_a_class_needing_a_restore_makes_a_retry_name_the_key_until_restored(
    archiving_service: RunningService, unique_user: str
) -> None:
    service = archiving_service
    _ready, failed = archive_both(service, unique_user)

    refused = rpc_error(
        lambda: service.stub.RetryProcessing(
            pb.RetryProcessingRequest(media_id=failed.id), metadata=service.auth(unique_user)
        )
    )

    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.details() == (
        f"the original of media {failed.id} is archived (storage class GLACIER) and this "
        f"storage cannot restore it on request: restore {frozen_key(failed)} by hand, then retry"
    )
    assert get_media(service, unique_user, failed.id).status == pb.STATUS_FAILED
    key = frozen_key(failed)
    service.s3.copy_object(
        Bucket=service.bucket,
        Key=key,
        CopySource={"Bucket": service.bucket, "Key": key},
        StorageClass="STANDARD",
    )
    retried = service.stub.RetryProcessing(
        pb.RetryProcessingRequest(media_id=failed.id), metadata=service.auth(unique_user)
    )
    assert retried.media.status == pb.STATUS_UPLOADED
    eventually(
        lambda: get_media(service, unique_user, failed.id).status == pb.STATUS_READY,
        "the media READY after the original was restored by hand",
        timeout=30,
    )
