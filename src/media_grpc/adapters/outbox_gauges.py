"""The outbox backlog as Prometheus gauges, read from the database at each scrape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.orm import OutboxRow
from media_grpc.observability import metrics

log = logging.getLogger(__name__)


class OutboxGauges:
    """``media_outbox_backlog`` and ``media_outbox_oldest_age_seconds`` (NaN when unreadable)."""

    def __init__(self, session_factory: sessionmaker[Session], now: Callable[[], datetime]):
        self.session_factory = session_factory
        self.now = now

    def sample(self) -> tuple[float, float]:
        try:
            with self.session_factory() as session:
                count, oldest = session.execute(
                    select(func.count(OutboxRow.id), func.min(OutboxRow.created_at)).where(
                        OutboxRow.published_at.is_(None)
                    )
                ).one()
        except SQLAlchemyError as e:
            log.warning("cannot read the outbox backlog: %s", e)
            return float("nan"), float("nan")
        if oldest is None:
            return float(count), 0.0
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return float(count), max(0.0, (self.now() - oldest).total_seconds())

    def register(self) -> None:
        metrics.OUTBOX_BACKLOG.set_function(lambda: self.sample()[0])
        metrics.OUTBOX_OLDEST_AGE.set_function(lambda: self.sample()[1])
