"""The outbox relay on a real SQLite database with a recording publisher."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.job_publisher import PublishFailed
from media_grpc.adapters.orm import OutboxRow
from media_grpc.adapters.outbox import SqlAlchemyOutbox
from media_grpc.adapters.outbox_relay import OutboxRelay
from media_grpc.adapters.outbox_signal import OutboxSignal
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind, Purpose
from media_grpc.runtime.process_runtime import ProcessRuntime
from tests.fakes import RecordingPublisher
from tests.waiting import eventually

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def job(n: int) -> ProcessingJob:
    return ProcessingJob(
        job_id=f"job-{n:03d}",
        kind=JobKind.IMAGE,
        media_id=f"media-{n:03d}",
        owner_id="alice",
        purpose=Purpose.POST_IMAGE,
        storage_key=f"posts/alice/{n}.png",
        etag='"e"',
        version_id="",
        mime_type="image/png",
        size_bytes=10,
        created_at=NOW,
    )


def add_jobs(sessions: sessionmaker[Session], count: int) -> list[ProcessingJob]:
    jobs = [job(n) for n in range(count)]
    with sessions() as session:
        outbox = SqlAlchemyOutbox(session)
        for j in jobs:
            outbox.add(j)
        session.commit()
    return jobs


def relay_for(sessions: sessionmaker[Session], publisher: RecordingPublisher) -> OutboxRelay:
    return OutboxRelay(
        sessions, publisher, lambda: NOW, batch_size=4, poll_interval=0.01, max_backoff=0.05
    )


def run_until(relay: OutboxRelay, condition: Callable[[], bool], what: str) -> float:
    """Run the relay on a thread until ``condition``, then stop and close it; the seconds until
    ``condition`` held."""
    thread = threading.Thread(target=relay.run)
    started = time.monotonic()
    thread.start()
    try:
        eventually(condition, what, 10)
        return time.monotonic() - started
    finally:
        relay.request_stop()
        thread.join(5)
        relay.close()


def test_pending_rows_are_published_in_order_and_marked_sent(
    sessions: sessionmaker[Session],
) -> None:
    jobs = add_jobs(sessions, 6)
    publisher = RecordingPublisher()
    relay = relay_for(sessions, publisher)
    assert relay.relay_once() == 4
    assert relay.relay_once() == 2
    assert relay.relay_once() == 0
    assert publisher.jobs == jobs
    with sessions() as session:
        rows = list(session.scalars(select(OutboxRow)))
    assert all(r.published_at is not None and r.attempts == 1 for r in rows)


def test_failed_publish_leaves_the_row_pending_with_its_error(
    sessions: sessionmaker[Session],
) -> None:
    add_jobs(sessions, 3)
    publisher = RecordingPublisher()
    publisher.fail_next = 1
    relay = relay_for(sessions, publisher)
    with pytest.raises(Exception, match="broker unreachable"):
        relay.relay_once()
    with sessions() as session:
        first = session.get(OutboxRow, "job-000")
    assert first is not None
    assert first.published_at is None
    assert first.attempts == 1
    assert first.last_error == "broker unreachable (fake)"
    assert relay.pending() == 3


def test_running_relay_backs_off_while_publishing_fails_then_publishes_everything(
    sessions: sessionmaker[Session],
) -> None:
    jobs = add_jobs(sessions, 10)
    publisher = RecordingPublisher()
    publisher.fail_next = 5
    relay = relay_for(sessions, publisher)
    run_until(relay, lambda: not relay.pending(), "every job published")
    assert relay.pending() == 0
    assert publisher.jobs == jobs
    assert publisher.closed


def test_a_broker_seen_back_ends_the_relays_backoff_at_once(
    sessions: sessionmaker[Session],
) -> None:
    jobs = add_jobs(sessions, 3)
    publisher = RecordingPublisher()
    publisher.fail_next = 4
    # Backoffs of 0.2 + 0.4 + 0.8 + 1.6 s if waited out; the publisher is back at once.
    relay = OutboxRelay(sessions, publisher, lambda: NOW, poll_interval=0.01, max_backoff=30)
    elapsed = run_until(relay, lambda: len(publisher.jobs) == 3, "every job published")
    assert publisher.jobs == jobs
    assert len(publisher.backoffs) == 4
    assert elapsed < sum(publisher.backoffs), (
        f"{elapsed:.2f} s to publish: the backoffs ({publisher.backoffs}) were waited out"
    )


def test_running_relay_rides_out_a_database_outage(sessions: sessionmaker[Session]) -> None:
    jobs = add_jobs(sessions, 3)
    outage = {"left": 3}

    def flaky_sessions() -> Session:
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("database restarting"))
        return sessions()

    publisher = RecordingPublisher()
    relay = relay_for(sessions, publisher)
    relay.session_factory = flaky_sessions  # type: ignore[assignment]
    run_until(relay, lambda: len(publisher.jobs) >= 3, "three jobs published")
    assert publisher.jobs == jobs
    assert outage["left"] == 0
    assert publisher.backoffs == [], "the database's backoff is no broker's to end"


def test_a_commit_with_outbox_rows_wakes_the_relay_before_its_next_poll(
    sessions: sessionmaker[Session],
) -> None:
    signal = OutboxSignal()
    publisher = RecordingPublisher()
    relay = OutboxRelay(sessions, publisher, lambda: NOW, poll_interval=30.0, signal=signal)
    runtime = running(relay)
    try:
        wait_until(lambda: publisher.idled > 0)  # it found nothing and waits for up to 30 s
        with SqlAlchemyUnitOfWork(sessions, signal) as uow:
            uow.outbox.add(job(1))
            uow.commit()
        wait_until(lambda: bool(publisher.jobs))
    finally:
        runtime.stop()
    assert [j.job_id for j in publisher.jobs] == ["job-001"]


def running(relay: OutboxRelay) -> ProcessRuntime:
    """The relay on its thread, as a server process runs it; ``stop()`` the runtime after."""
    runtime = ProcessRuntime("test")
    runtime.start_loop("outbox-relay", relay.run, stop=relay.request_stop, then=relay.close)
    return runtime


def wait_until(condition: Callable[[], bool], timeout: float = 5) -> None:
    eventually(condition, "the condition", timeout)


def test_running_relay_starts_its_publisher_before_any_job_and_closes_it_on_stop(
    sessions: sessionmaker[Session],
) -> None:
    publisher = RecordingPublisher()
    relay = relay_for(sessions, publisher)
    runtime = running(relay)
    try:
        wait_until(lambda: publisher.idled > 0)
        assert (publisher.started, publisher.jobs, publisher.closed) == (1, [], False)
    finally:
        runtime.stop()
    assert publisher.closed


def test_after_publish_hooks_see_each_job_the_publisher_took_and_none_it_refused(
    sessions: sessionmaker[Session],
) -> None:
    jobs = add_jobs(sessions, 3)
    publisher = RecordingPublisher()
    publisher.fail_next = 1
    seen: list[ProcessingJob] = []
    relay = OutboxRelay(sessions, publisher, lambda: NOW, after_publish=[seen.append])
    with pytest.raises(PublishFailed):
        relay.relay_once()
    assert relay.relay_once() == 3
    assert seen == jobs == publisher.jobs


def test_stopping_relay_publishes_the_rows_committed_while_it_waited(
    sessions: sessionmaker[Session],
) -> None:
    publisher = RecordingPublisher()
    relay = OutboxRelay(sessions, publisher, lambda: NOW, batch_size=2, poll_interval=30.0)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    wait_until(lambda: publisher.idled > 0)  # asleep for up to 30 s, and nothing wakes it
    jobs = add_jobs(sessions, 5)  # committed by another process: no signal
    relay.request_stop()
    thread.join(10)
    relay.close()
    assert publisher.jobs == jobs
    assert relay.pending() == 0
    assert publisher.closed
