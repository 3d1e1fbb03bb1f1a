"""Unit of work: one database transaction around a use case."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.audit_log import AbstractAuditLog, SqlAlchemyAuditLog
from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.adapters.import_repository import (
    AbstractImportRepository,
    SqlAlchemyImportRepository,
)
from media_grpc.adapters.outbox import AbstractOutbox, SqlAlchemyOutbox
from media_grpc.adapters.outbox_signal import OutboxSignal
from media_grpc.adapters.owner_call_rates import AbstractCallRates, SqlAlchemyCallRates
from media_grpc.adapters.owner_limits import AbstractOwnerLimits, SqlAlchemyOwnerLimits
from media_grpc.adapters.profile_images import AbstractProfileImages, SqlAlchemyProfileImages
from media_grpc.adapters.repository import AbstractMediaRepository
from media_grpc.adapters.sql_media_repository import SqlAlchemyMediaRepository


@dataclass
class Commits:
    """Transactions of units of work that began to commit during one call: once one has, the
    call may have written something, even if its commit then failed."""

    started: int = 0


_commits: ContextVar[Commits | None] = ContextVar("commits", default=None)


@contextmanager
def counting_commits() -> Iterator[Commits]:
    """Counts the commits begun in this thread's context until the block ends (what the
    server's transaction retry asks before it runs a call again)."""
    commits = Commits()
    token = _commits.set(commits)
    try:
        yield commits
    finally:
        _commits.reset(token)


class AbstractUnitOfWork(abc.ABC):
    media: AbstractMediaRepository
    outbox: AbstractOutbox
    imports: AbstractImportRepository

    profile_images: AbstractProfileImages

    limits: AbstractOwnerLimits
    #: Per-owner call rates taken in this transaction (RetryProcessing's).
    call_rates: AbstractCallRates
    #: The audit trail: an event recorded here exists exactly when this unit commits.
    events: AbstractAuditLog

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(exc)

    def end(self, error: BaseException | None) -> None:
        """Leave the unit of work: what was not committed is rolled back. ``error`` is what
        ended the ``with`` block, if anything."""
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """Opens a session on enter; rolls back whatever was not committed on exit."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        outbox_signal: OutboxSignal | None = None,
        *,
        audit_events: bool = True,
    ) -> None:
        self.session_factory = session_factory
        self.outbox_signal = outbox_signal
        self.audit_events = audit_events

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self._events = SqlAlchemyAuditLog(self.session, recording=self.audit_events)
        self.events = self._events
        self.media = SqlAlchemyMediaRepository(self.session, self._events)
        self._outbox = SqlAlchemyOutbox(self.session)
        self.outbox = self._outbox
        self.imports = SqlAlchemyImportRepository(self.session)

        self.profile_images = SqlAlchemyProfileImages(self.session)

        self.limits = SqlAlchemyOwnerLimits(self.session)
        self.call_rates = SqlAlchemyCallRates(self.session)
        return super().__enter__()

    def end(self, error: BaseException | None) -> None:
        """Roll back and close the session. A database that went away (``error`` or the
        rollback says so) is DatabaseUnavailable; a failing rollback never hides ``error``."""
        try:
            super().end(error)
            self.session.close()
        except DBAPIError:
            if error is None:
                raise
        if isinstance(error, OperationalError) or (
            isinstance(error, DBAPIError) and error.connection_invalidated
        ):
            raise DatabaseUnavailable() from error

    def commit(self) -> None:
        # The audit events no statement of the change took: sent before the commit begins, so
        # that a database gone meanwhile counts as nothing written.
        self._events.flush()
        commits = _commits.get()
        if commits is not None:
            commits.started += 1
        self.session.commit()
        if self._outbox.added:
            self._outbox.added = 0
            if self.outbox_signal is not None:
                self.outbox_signal.notify()

    def rollback(self) -> None:
        self._outbox.added = 0
        self._events.discard()
        self.session.rollback()
