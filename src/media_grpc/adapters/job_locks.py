"""Per-media locks held while a worker processes a media, so that two deliveries of the same
job (a relay republishing, a redelivery racing a slow worker) never run at once.

PostgreSQL: a session advisory lock on a connection held for the job; it is released by the
server when the worker process dies, so a SIGKILLed worker never leaves a media locked.
SQLite (the embedded default, one process): a set of ids guarded by a thread lock.

The database going away while a lock is taken or held is ``DatabaseUnavailable``, as in a unit
of work, so that the worker runs the job again in place within seconds of the database's return
(``workers/retries.py``) instead of after the first retry delay. A lock whose connection died is
released by the server with it: releasing it then is skipped, and never hides the job's own error.
"""

from __future__ import annotations

import abc
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from media_grpc.adapters.database import DatabaseUnavailable


class JobLocks(abc.ABC):
    @abc.abstractmethod
    @contextmanager
    def hold(self, media_id: str) -> Iterator[bool]:
        """Try to lock ``media_id`` without waiting; yields whether this caller holds it."""


def lock_key(media_id: str) -> int:
    """A signed 64-bit advisory lock key derived from the media id."""
    digest = hashlib.blake2b(media_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresJobLocks(JobLocks):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, media_id: str) -> Iterator[bool]:
        key = lock_key(media_id)
        connection = self._connect()
        try:
            held = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            )
            connection.commit()
        except DBAPIError as error:
            connection.close()
            if isinstance(error, OperationalError) or error.connection_invalidated:
                raise DatabaseUnavailable() from error
            raise
        try:
            yield held
        finally:
            _release(connection, key if held else None)

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except OperationalError as error:
            raise DatabaseUnavailable() from error


def _release(connection: Connection, key: int | None) -> None:
    """Unlock ``key`` (when held) and return the connection to the pool. On a connection that
    died the server has released the lock already: nothing to do, and no error raised over the
    one the job may be raising."""
    try:
        if key is not None and not connection.invalidated:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()
    except DBAPIError:
        connection.invalidate()  # a session that may still hold the lock never goes back
    finally:
        connection.close()


class InProcessJobLocks(JobLocks):
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: set[str] = set()

    @contextmanager
    def hold(self, media_id: str) -> Iterator[bool]:
        with self._guard:
            held = media_id not in self._held
            self._held.add(media_id)
        try:
            yield held
        finally:
            if held:
                with self._guard:
                    self._held.discard(media_id)


def job_locks_for(engine: Engine) -> JobLocks:
    return PostgresJobLocks(engine) if engine.dialect.name == "postgresql" else InProcessJobLocks()
