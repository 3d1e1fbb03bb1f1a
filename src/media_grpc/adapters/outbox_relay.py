"""The outbox relay: publishes pending outbox rows, marking each sent only after its confirm.

Guarantee: every committed job is published at least once. A row is marked ``published_at``
in the transaction that claimed it, after the broker confirmed it; a crash between confirm and
commit publishes it again, which the idempotent workers absorb. Relays claim rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several may run at once without sharing a row
(SQLite ignores the clause: run one relay there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime

import tenacity
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.job_messages import job_from_payload
from media_grpc.adapters.job_publisher import JobPublisher, PublishFailed
from media_grpc.adapters.orm import OutboxRow
from media_grpc.adapters.outbox_signal import OutboxSignal
from media_grpc.domain.jobs import ProcessingJob

log = logging.getLogger(__name__)

#: Characters of a publish error kept in ``outbox.last_error``.
ERROR_CHARS = 500


@dataclass(eq=False)
class OutboxRelay:
    """Moves outbox rows to a JobPublisher.

    Parameters:
        session_factory: sessions on the database holding the outbox.
        publisher: where jobs go (RabbitMQ, or the in-process queue).
        now: the clock, timezone-aware.
        batch_size: rows claimed per transaction.
        poll_interval: seconds to sleep when nothing is pending.
        max_backoff: longest sleep, in seconds, between attempts while publishing fails.
        signal: wakes the relay early when this process commits outbox rows.
        after_publish: hooks called with each job the publisher took (metrics). Cross-cutting
            behaviour hooks here instead of wrapping the publisher, so that no wrapper can
            forget to forward one of the port's methods.
    """

    session_factory: sessionmaker[Session]
    publisher: JobPublisher
    now: Callable[[], datetime]
    _: KW_ONLY
    batch_size: int = 100
    poll_interval: float = 0.5
    max_backoff: float = 2.0
    signal: OutboxSignal = field(default_factory=OutboxSignal)
    after_publish: Sequence[Callable[[ProcessingJob], None]] = ()
    stopping: threading.Event = field(default_factory=threading.Event, init=False)
    #: Whether the last failed attempt failed to publish (else the database failed).
    _publish_failed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.after_publish = tuple(self.after_publish)

    def relay_once(self) -> int:
        """Publish one batch; the number published. Raises PublishFailed, leaving rows pending
        (rows confirmed before the failure are still marked)."""
        with self.session_factory() as session:
            rows = list(
                session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.published_at.is_(None), OutboxRow.available_at <= self.now())
                    .order_by(OutboxRow.available_at, OutboxRow.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            published = 0
            try:
                for row in rows:
                    row.attempts += 1
                    job = job_from_payload(row.payload)
                    self.publisher.publish(job)
                    for hook in self.after_publish:
                        hook(job)
                    row.published_at = self.now()
                    row.last_error = None
                    published += 1
            except PublishFailed as e:
                rows[published].last_error = str(e)[:ERROR_CHARS]
                session.commit()
                raise
            session.commit()
            return published

    def pending(self) -> int:
        """Rows not yet published (for tests and health checks)."""
        with self.session_factory() as session:
            count = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.published_at.is_(None))
            )
            return int(count or 0)

    def run(self) -> None:
        """Relay until ``request_stop()``: batches back to back, polls when idle, and backs off
        while the broker (PublishFailed) or the database is unavailable; a broker's backoff
        ends early when the publisher sees it back (``JobPublisher.wait_for_return``)."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Exception),
            wait=tenacity.wait_exponential(multiplier=0.2, max=self.max_backoff),
            stop=lambda _state: self.stopping.is_set(),
            sleep=self._sleep,
            before_sleep=self._log_failure,
            reraise=True,
        )
        self.publisher.start()
        while not self.stopping.is_set():
            try:
                published = retrying(self.relay_once)
            except Exception:  # noqa: BLE001 - raised only once stopping
                break
            if published < self.batch_size:
                self.publisher.idle()
                self.signal.wait(self.poll_interval)

    def _sleep(self, seconds: float) -> None:
        if self._publish_failed:
            self.publisher.wait_for_return(seconds, self.stopping)
        else:
            self.stopping.wait(seconds)

    def _log_failure(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self._publish_failed = isinstance(error, PublishFailed)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("cannot relay the outbox (%r); retrying in %.1f s", error, wait)

    def request_stop(self) -> None:
        """Ask ``run`` to return (after the batch it is publishing); returns at once."""
        self.stopping.set()
        self.signal.notify()

    def close(self) -> None:
        """Once ``run`` has returned: publish once more what is pending (the jobs committed
        while this process drained, and any another process left), so that a process that
        stops leaves no job waiting on a relay that is gone, then release the publisher. A
        broker that is down leaves them to the next relay."""
        self._flush()
        self.publisher.close()

    def _flush(self) -> None:
        try:
            while self.relay_once() == self.batch_size:
                pass
        except Exception as e:  # noqa: BLE001 - the rows stay pending for the next relay
            log.warning("stopping with outbox rows unpublished (%r)", e)
