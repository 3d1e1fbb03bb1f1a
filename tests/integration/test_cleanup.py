"""The lifecycle sweeps against PostgreSQL and the strict S3, two runs at once included.

Each test's media live in a time window of their own, far in the past, and the sweeps run with
a clock set just after it: other tests' rows (created now) never qualify.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.database import build_session_factory
from media_grpc.adapters.orm import OutboxRow
from media_grpc.adapters.s3_storage import S3BlobStorage
from media_grpc.bootstrap import Application
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain import keys
from media_grpc.domain.model import (
    FailureReason,
    Media,
    MultipartSession,
    Purpose,
    Status,
)
from media_grpc.service.cleanup import CleanupReport, CleanupService
from media_grpc.service.context import ServiceContext
from tests.child_env import settings_env
from tests.media_records import add_variants, make_media

FIVE_MIB = 5 * 1024 * 1024


def era() -> datetime:
    """A moment of this test's own, decades ago (minute resolution, so windows never touch).

    Drawn from the system's entropy: pytest-randomly reseeds ``random`` before every test, which
    would give every test the same moment."""
    return datetime(1975, 1, 1, tzinfo=UTC) + timedelta(minutes=secrets.randbelow(10_000_000))


def add_media(
    app: Application,
    status: Status,
    at: datetime,
    *,
    purpose: Purpose = Purpose.POST_IMAGE,
    post_id: str | None = None,
) -> Media:
    media_id = str(uuid.uuid4())
    owner = f"user-{media_id[:8]}"
    media = make_media(
        owner,
        status=status,
        purpose=purpose,
        variant_names=(),
        post_id=post_id,
        media_id=media_id,
        at=at,
        content_type="image/jpeg",
    )
    key = media.storage_key
    if status in (Status.READY, Status.DELETED):
        app.s3_client.put_object(Bucket=app.settings.s3_bucket, Key=key, Body=b"abc")
        for variant_key in add_variants(media):
            app.s3_client.put_object(Bucket=app.settings.s3_bucket, Key=variant_key, Body=b"v")
    with app.ctx.uow() as uow:
        uow.media.add(media)
        uow.commit()
    return media


def sweeper(
    app: Application, now: datetime, storage: BlobStorage | None = None, **settings: object
) -> CleanupService:
    ctx = ServiceContext(uow=app.ctx.uow, storage=storage or app.storage, now=lambda: now)
    return CleanupService(ctx, LifecycleSettings.model_validate(settings))


def stored(app: Application, media: Media) -> list[str]:
    prefixes = [media.storage_key, keys.output_prefix(media.storage_key, video=False)]
    return [k for p in prefixes for k in app.storage.list_keys(p)]


def load(app: Application, media_id: str) -> Media | None:
    with app.ctx.uow() as uow:
        return uow.media.get(media_id)


def test_expired_multipart_session_is_aborted_in_storage_and_marked_failed_expired(
    app: Application,
) -> None:
    at = era()
    media = add_media(app, Status.PENDING, at)
    upload_id = app.storage.create_multipart_upload(media.storage_key, content_type="image/jpeg")
    app.s3_client.upload_part(
        Bucket=app.settings.s3_bucket,
        Key=media.storage_key,
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x" * FIVE_MIB,
    )
    with app.ctx.uow() as uow:
        locked = uow.media.get(media.id, for_update=True)
        assert locked is not None
        locked.multipart = MultipartSession(upload_id, FIVE_MIB, 2)
        uow.media.save(locked)
        uow.commit()

    report = sweeper(app, at + timedelta(hours=1)).run()

    assert (report.expired_sessions, report.multipart_aborted, report.errors) == (1, 1, [])
    expired = load(app, media.id)
    assert expired is not None and expired.status is Status.FAILED
    assert expired.failure is not None and expired.failure.reason is FailureReason.EXPIRED
    uploads = app.s3_client.list_multipart_uploads(Bucket=app.settings.s3_bucket).get("Uploads", [])
    assert upload_id not in {u["UploadId"] for u in uploads}


def test_unattached_ready_media_goes_after_the_ttl_while_attached_and_profile_media_stay(
    app: Application,
) -> None:
    at = era()
    lonely = add_media(app, Status.READY, at)
    attached = add_media(app, Status.READY, at, post_id=f"post-{uuid.uuid4().hex[:8]}")
    profile = add_media(app, Status.READY, at, purpose=Purpose.PROFILE_IMAGE)

    report = sweeper(app, at + timedelta(hours=25), unattached_ttl_hours=24).run()

    assert report.unattached_deleted == 1
    gone = load(app, lonely.id)
    assert gone is not None and gone.status is Status.DELETED
    assert stored(app, lonely) == []
    for kept in (attached, profile):
        still = load(app, kept.id)
        assert still is not None and still.status is Status.READY
        assert len(stored(app, kept)) == 3


def test_deleted_media_record_is_purged_after_retention_with_its_leftover_objects(
    app: Application,
) -> None:
    at = era()
    deleted = add_media(app, Status.DELETED, at)

    sweeper(app, at + timedelta(hours=1), deleted_retention_hours=24).run()
    kept = load(app, deleted.id)
    late = sweeper(app, at + timedelta(hours=25), deleted_retention_hours=24).run()

    assert kept is not None and kept.status is Status.DELETED
    assert late.records_purged >= 1  # earlier tests' deleted media may go too
    assert load(app, deleted.id) is None
    assert stored(app, deleted) == []


def test_dry_run_reports_without_touching_anything(app: Application) -> None:
    at = era()
    media = add_media(app, Status.READY, at)

    report = sweeper(app, at + timedelta(days=2)).run(dry_run=True)

    assert report.unattached_deleted >= 1
    still = load(app, media.id)
    assert still is not None and still.status is Status.READY
    sweeper(app, at + timedelta(days=2)).run()  # leave nothing behind for later windows


class SlowCountingStorage(S3BlobStorage):
    """The real storage adapter (every method of the port inherited), its deletes slower and
    counted per key."""

    def __init__(self, app: Application) -> None:
        super().__init__(app.s3_client, app.settings.s3_bucket)
        self.deleted: Counter[str] = Counter()
        self.lock = threading.Lock()

    def delete(self, keys: list[str]) -> None:
        with self.lock:
            self.deleted.update(keys)
        threading.Event().wait(0.05)  # slower deletes, so that the two runs overlap
        super().delete(keys)


def two_runs_at_once(app: Application, now: datetime, storage: BlobStorage) -> list[CleanupReport]:
    """Two cleanup runs at ``now`` (batches of 2), started together on two threads; their
    reports, once both ended (each within 60 s)."""
    reports: list[CleanupReport] = []
    start = threading.Barrier(2)

    def run() -> None:
        service = sweeper(app, now, storage, batch_size=2)
        start.wait()
        reports.append(service.run())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return reports


def test_two_cleanup_runs_at_once_share_the_work_without_double_deletes_or_errors(
    app: Application,
) -> None:
    at = era()
    media = [add_media(app, Status.READY, at) for _ in range(8)]
    media += [add_media(app, Status.PENDING, at) for _ in range(4)]
    storage = SlowCountingStorage(app)
    reports = two_runs_at_once(app, at + timedelta(days=2), storage)

    assert len(reports) == 2
    assert [r.errors for r in reports] == [[], []]
    assert sum(r.unattached_deleted for r in reports) == 8
    assert sum(r.expired_sessions for r in reports) == 4
    assert all(r.unattached_deleted + r.expired_sessions > 0 for r in reports)  # both took a share
    assert {storage.deleted[m.storage_key] for m in media} == {1}
    for m in media:
        after = load(app, m.id)
        assert after is not None and after.status in (Status.DELETED, Status.FAILED)


def test_cleanup_command_prints_what_it_did(app: Application) -> None:
    env = settings_env(app.settings)
    cli = str(Path(sys.executable).parent / "media-grpc")

    dry = subprocess.run(
        [cli, "cleanup", "--dry-run"], env=env, capture_output=True, text=True, timeout=60
    )
    real = subprocess.run([cli, "cleanup"], env=env, capture_output=True, text=True, timeout=60)
    del env["MEDIA_S3_ENDPOINT_URL"]
    embedded = subprocess.run([cli, "cleanup"], env=env, capture_output=True, text=True, timeout=60)

    assert dry.returncode == 0, dry.stderr
    assert "expired upload sessions (would be): " in dry.stdout
    assert real.returncode == 0, real.stderr
    assert "object keys deleted: " in real.stdout
    assert embedded.returncode == 2
    assert "runs the cleanup itself" in embedded.stderr


def test_two_runs_at_once_sweep_late_puts_and_requeue_stuck_media_exactly_once(
    app: Application,
) -> None:
    at = era()
    failed = [add_media(app, Status.FAILED, at) for _ in range(4)]
    for media in failed:  # late PUTs after the verdict
        app.s3_client.put_object(Bucket=app.settings.s3_bucket, Key=media.storage_key, Body=b"x")
    stuck = [add_media(app, Status.PROCESSING, at) for _ in range(4)]
    storage = SlowCountingStorage(app)
    reports = two_runs_at_once(app, at + timedelta(days=2), storage)
    stuck_ids = [m.id for m in stuck]
    with build_session_factory(app.engine)() as session:
        jobs = list(
            session.scalars(select(OutboxRow.media_id).where(OutboxRow.media_id.in_(stuck_ids)))
        )
        # Keep these era jobs away from the relays of later tests.
        session.execute(delete(OutboxRow).where(OutboxRow.media_id.in_(stuck_ids)))
        session.commit()

    assert [r.errors for r in reports] == [[], []]
    assert sum(r.late_puts_swept for r in reports) == 4
    assert sum(r.stuck_requeued for r in reports) == 4
    assert {storage.deleted[m.storage_key] for m in failed} == {1}
    assert all(stored(app, m) == [] for m in failed)
    assert sorted(jobs) == sorted(stuck_ids)
    for m in stuck:
        after = load(app, m.id)
        assert after is not None and after.status is Status.UPLOADED
