"""The outbox: jobs written in the same transaction as the status change they announce."""

from __future__ import annotations

import abc
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from media_grpc.adapters.job_messages import job_to_payload
from media_grpc.adapters.orm import OutboxRow
from media_grpc.domain.jobs import ProcessingJob

_INSERT = insert(OutboxRow.__table__)  # type: ignore[arg-type]


class AbstractOutbox(abc.ABC):
    @abc.abstractmethod
    def add(self, job: ProcessingJob) -> None:
        """Record a job to publish once the surrounding transaction commits."""

    @abc.abstractmethod
    def find_published(
        self, published_before: datetime, limit: int, *, claim: bool = False
    ) -> list[str]:
        """Ids of rows published before ``published_before``, oldest first. ``claim`` locks
        them until the transaction ends and skips rows another transaction holds."""

    @abc.abstractmethod
    def delete(self, job_ids: list[str]) -> None:
        """Delete these rows; absent ones are not an error."""


class SqlAlchemyOutbox(AbstractOutbox):
    def __init__(self, session: Session) -> None:
        self.session = session
        #: Rows added in this session and not yet committed.
        self.added = 0

    def add(self, job: ProcessingJob) -> None:
        self.added += 1
        # A Core INSERT: the ORM's flush of one new row cost more than the SQL.
        self.session.execute(
            _INSERT,
            {
                "id": job.job_id,
                "kind": job.kind.value,
                "media_id": job.media_id,
                "payload": job_to_payload(job),
                "created_at": job.created_at,
                "available_at": job.created_at,
                "attempts": 0,
            },
        )

    def find_published(
        self, published_before: datetime, limit: int, *, claim: bool = False
    ) -> list[str]:
        stmt = (
            select(OutboxRow.id)
            .where(OutboxRow.published_at < published_before)
            .order_by(OutboxRow.published_at, OutboxRow.id)
            .limit(limit)
        )
        if claim:
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt))

    def delete(self, job_ids: list[str]) -> None:
        if job_ids:
            self.session.execute(delete(OutboxRow).where(OutboxRow.id.in_(job_ids)))
