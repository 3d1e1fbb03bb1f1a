"""Per-media locks held while a worker processes a media, so that two deliveries of the same
job (a relay republishing, a redelivery racing a slow worker) never run at once.

PostgreSQL: a session advisory lock on a connection held for the job; it is released by the
server when the worker process dies, so a SIGKILLed worker never leaves a media locked.
SQLite (the embedded default, one process): a set of ids guarded by a thread lock.
"""

from __future__ import annotations

import abc
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


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
        with self.engine.connect() as connection:
            held = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            )
            connection.commit()
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()


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
