"""The embedded default's queue: jobs run on a thread pool of this process, with the same
retry semantics as RabbitMQ (per-attempt delays, an attempt cap, a dead-letter list).

Nothing survives a restart except the outbox: a job lost with the process leaves its media
UPLOADED or PROCESSING, and `serve` queues those again at start-up
(``CleanupService.requeue_stuck``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from media_grpc.adapters.job_publisher import JobPublisher, PublishFailed
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure
from workers.retries import Action, RetryMiddleware

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    job: ProcessingJob
    attempt: int
    failure: Failure | None
    #: Why it was parked without a verdict on its media (see Settlement.note).
    note: str = ""


class InProcessQueue(JobPublisher):
    """A JobPublisher whose consumer is a thread pool running the retry middleware."""

    def __init__(self, middleware: RetryMiddleware, *, threads: int = 2) -> None:
        self.middleware = middleware
        self.dead: list[DeadLetter] = []
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="in-process-worker")
        self._timers: set[threading.Timer] = set()
        self._guard = threading.Lock()
        self._closed = False
        self._idle = threading.Condition(self._guard)
        self._in_flight = 0

    def publish(self, job: ProcessingJob) -> None:
        self._submit(job, attempt=1)

    def _submit(self, job: ProcessingJob, attempt: int) -> None:
        with self._guard:
            if self._closed:
                raise PublishFailed("the in-process queue is closed")
            self._in_flight += 1
        self._executor.submit(self._run, job, attempt)

    def _run(self, job: ProcessingJob, attempt: int) -> None:
        try:
            settlement = self.middleware.process(job, attempt)
            if settlement.action is Action.RETRY:
                delay = self.middleware.retry_delays[settlement.retry_index]
                self._later(delay, job, settlement.attempt)
            elif settlement.action is Action.DEAD:
                self.dead.append(
                    DeadLetter(job, settlement.attempt, settlement.failure, settlement.note)
                )
        except Exception:
            log.exception("job %s: in-process worker crashed", job.job_id)
        finally:
            with self._guard:
                self._in_flight -= 1
                self._idle.notify_all()

    def _later(self, delay: float, job: ProcessingJob, attempt: int) -> None:
        with self._guard:
            if self._closed:
                return
            self._in_flight += 1

            def fire() -> None:
                with self._guard:
                    self._timers.discard(timer)
                    self._in_flight -= 1
                    self._idle.notify_all()
                try:
                    self._submit(job, attempt)
                except PublishFailed:
                    log.info("job %s dropped: the in-process queue closed", job.job_id)

            timer = threading.Timer(delay, fire)
            timer.daemon = True
            self._timers.add(timer)
        timer.start()

    def join(self, timeout: float) -> bool:
        """Wait until no job is running or waiting for a retry; False on timeout."""
        with self._guard:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            timers, self._timers = set(self._timers), set()
        for timer in timers:
            timer.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
