"""The cleanup sweeps on SQLite, the embedded default's database (run by `serve` itself).

Storage is the in-memory fake (tests/fakes.py): these prove the sweeps' SQL on SQLite; the same
sweeps against PostgreSQL and the strict S3 are tests/integration/test_cleanup.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.orm import OutboxRow
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain.audit import AuditAction, EventFilter
from media_grpc.domain.model import Failure, FailureReason, Purpose, Status
from media_grpc.service.cleanup import CleanupService
from media_grpc.service.context import ServiceContext
from tests.fakes import InMemoryBlobStorage
from tests.unit.service.test_cleanup import make_media

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def test_every_sweep_runs_on_sqlite(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
    upgrade_to_head(engine)
    sessions = build_session_factory(engine)
    ctx = ServiceContext(
        uow=lambda: SqlAlchemyUnitOfWork(sessions), storage=InMemoryBlobStorage(), now=lambda: NOW
    )
    rows = [
        make_media("pending-old", Status.PENDING, age=timedelta(hours=1)),
        make_media("pending-new", Status.PENDING, age=timedelta(minutes=1)),
        make_media("ready-old", Status.READY, age=timedelta(hours=30)),
        make_media("profile", Status.READY, purpose=Purpose.PROFILE_IMAGE, age=timedelta(days=3)),
        make_media("deleted-old", Status.DELETED, age=timedelta(days=10)),
    ]
    with ctx.uow() as uow:
        for media in rows:
            uow.media.add(media)
        uow.commit()

    try:
        report = CleanupService(ctx, LifecycleSettings()).run()
        with ctx.uow() as uow:
            after = {m.id: m for m in uow.media.get_many([m.id for m in rows])}
    finally:
        engine.dispose()

    assert (report.expired_sessions, report.unattached_deleted, report.records_purged) == (1, 1, 1)
    failure = after["pending-old"].failure
    assert failure is not None and failure.reason is FailureReason.EXPIRED
    assert after["pending-new"].status is Status.PENDING
    assert after["ready-old"].status is Status.DELETED
    assert after["profile"].status is Status.READY
    assert "deleted-old" not in after


def test_recovery_sweeps_run_on_sqlite(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
    upgrade_to_head(engine)
    sessions = build_session_factory(engine)
    storage = InMemoryBlobStorage()
    ctx = ServiceContext(
        uow=lambda: SqlAlchemyUnitOfWork(sessions), storage=storage, now=lambda: NOW
    )
    refused = make_media("refused", Status.FAILED, age=timedelta(hours=1))
    refused.failure = Failure(FailureReason.SIZE_MISMATCH, "refused")
    storage.put(refused.storage_key, b"late put")
    stuck = make_media("stuck", Status.PROCESSING, age=timedelta(hours=2))
    stuck.etag = '"e"'
    old_failure = make_media("old-failure", Status.FAILED, age=timedelta(days=10))
    with ctx.uow() as uow:
        for media in (refused, stuck, old_failure):
            uow.media.add(media)
        uow.commit()
    with sessions() as session:
        assert session.scalars(select(OutboxRow.id)).first() is None
    try:
        report = CleanupService(ctx, LifecycleSettings()).run()
        with sessions() as session:
            jobs = list(session.scalars(select(OutboxRow)))
            assert [job.media_id for job in jobs] == ["stuck"]
            jobs[0].published_at = NOW - timedelta(hours=25)
            session.commit()
        outbox = CleanupService(ctx, LifecycleSettings()).run()
        with ctx.uow() as uow:
            after = {m.id: m for m in uow.media.get_many(["refused", "stuck", "old-failure"])}
        with sessions() as session:
            left = list(session.scalars(select(OutboxRow.id)))
    finally:
        engine.dispose()

    assert (report.late_puts_swept, report.stuck_requeued, report.failed_purged) == (1, 1, 1)
    assert refused.storage_key not in storage.objects
    assert after["refused"].status is Status.FAILED
    assert after["stuck"].status is Status.UPLOADED
    assert "old-failure" not in after
    assert (outbox.outbox_rows_deleted, left) == (1, [])


def test_audit_events_are_recorded_listed_and_forgotten_on_sqlite(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
    upgrade_to_head(engine)
    sessions = build_session_factory(engine)
    clock = [datetime.now(UTC)]  # the events' time is the database's: keep near it
    ctx = ServiceContext(
        uow=lambda: SqlAlchemyUnitOfWork(sessions),
        storage=InMemoryBlobStorage(),
        now=lambda: clock[0],
    )
    rows = [make_media("deleted-old", Status.DELETED, age=timedelta(days=10), now=clock[0])]
    with ctx.uow() as uow:
        uow.media.add(rows[0])
        uow.commit()

    try:
        CleanupService(ctx, LifecycleSettings()).run()  # purges the media: one PURGED event
        with ctx.uow() as uow:
            (purged,) = uow.events.page(EventFilter(media_id="deleted-old"), None, 10)
            assert purged.occurred_at is not None
            recorded_at = purged.occurred_at.replace(tzinfo=UTC)
            later = EventFilter(media_id="deleted-old", since=recorded_at + timedelta(minutes=1))
            assert uow.events.page(later, None, 10) == []
        clock[0] += timedelta(days=2)  # two days on: past a one-day retention
        report = CleanupService(ctx, LifecycleSettings(audit_retention_days=1)).run()
    finally:
        engine.dispose()

    assert purged.action is AuditAction.PURGED
    assert abs(recorded_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert report.audit_events_deleted == 1
