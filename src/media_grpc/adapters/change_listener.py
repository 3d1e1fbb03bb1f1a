"""Hearing about status changes: one LISTEN connection per process, or a poll on SQLite.

A listener yields sets of media ids that may have changed, or ``RESYNC`` when anything may
have changed (at start, after a lost connection, at each poll), in which case the reader
re-reads every media it watches.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncIterator

import psycopg
from sqlalchemy.engine import make_url

from media_grpc.adapters.change_notify import STATUS_CHANNEL
from media_grpc.observability import metrics

log = logging.getLogger(__name__)

#: Yielded when the reader must re-read everything it watches (the empty set: no id given).
RESYNC: frozenset[str] = frozenset()


class ChangeListener(abc.ABC):
    @abc.abstractmethod
    def changes(self) -> AsyncIterator[frozenset[str]]:
        """Media ids that may have changed, or ``RESYNC``; runs until cancelled."""


class PollingChangeListener(ChangeListener):
    """Asks for a re-read every ``interval`` seconds: one poll per process, whatever the
    number of watchers (the embedded SQLite database cannot notify)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    async def changes(self) -> AsyncIterator[frozenset[str]]:
        while True:
            yield RESYNC
            await asyncio.sleep(self.interval)


class PostgresChangeListener(ChangeListener):
    """``LISTEN media_status`` on a connection of its own, kept open and re-opened when lost.

    Parameters:
        url: the SQLAlchemy URL of the database (its driver part is dropped).
        probe_seconds: seconds without a notification after which the connection is probed,
            so that a silently dead connection is noticed.
        max_backoff_seconds: longest wait between two attempts to connect again.
    """

    def __init__(
        self, url: str, *, probe_seconds: float = 15.0, max_backoff_seconds: float = 5.0
    ) -> None:
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.probe_seconds = probe_seconds
        self.max_backoff_seconds = max_backoff_seconds

    async def changes(self) -> AsyncIterator[frozenset[str]]:
        backoff = 0.1
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=5
                )
            except psycopg.Error as e:
                log.warning("status listener cannot connect (retry in %.1fs): %s", backoff, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {STATUS_CHANNEL}")
                    if not first:
                        metrics.CHANGE_FEED_RECONNECTS.inc()
                        log.info("status listener connected again; re-reading watched media")
                    first = False
                    backoff = 0.1
                    yield RESYNC  # what changed while nobody listened
                    while True:
                        async for note in conn.notifies(timeout=self.probe_seconds):
                            yield frozenset((note.payload,))
                        await conn.execute("SELECT 1")
            except psycopg.Error as e:
                log.warning("status listener lost its connection: %s", e)
