"""The cleanup sweeps on SQLite, the embedded default's database (run by `serve` itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.domain.model import FailureReason, Purpose, Status
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
