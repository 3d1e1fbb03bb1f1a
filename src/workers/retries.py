"""The retry policy, in one place: which errors are retried, after which delay, and when a
job is parked in the dead-letter queue with its media FAILED.

A job has ``len(retry_delays) + 1`` attempts. Attempt ``n`` failing with a retried error goes
to retry delay ``n - 1``; the last attempt failing, or any attempt failing with a never-retried
error, ends the job: its media becomes FAILED and the job is parked as a dead letter.

The database going away is no fault of the job: an attempt that meets it is run again in
place, from 0.25 s doubling up to 2 s apart, for up to ``outage_seconds``, without using up an
attempt, so that the job goes on within seconds of the database's return instead of after the
first retry delay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.domain.failure_text import scrub
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Failure, FailureReason
from media_grpc.domain.stage import MediaRejected
from workers.job_handler import Handled, JobDisagrees, JobHandler
from workers.time_limit import StageCrashed, TimeLimitExceeded

log = logging.getLogger(__name__)

#: Errors never retried besides MediaRejected (which carries its own reason), with the
#: failure reason they record. A time limit belongs here: a file that timed out once will again.
NEVER_RETRIED: dict[type[BaseException], FailureReason] = {
    TimeLimitExceeded: FailureReason.TIMEOUT,
}

#: Characters of an error message recorded on a FAILED media.
MESSAGE_CHARS = 300
#: Seconds between the first two runs of an attempt that met an unavailable database.
FIRST_OUTAGE_BACKOFF = 0.25
#: Longest wait, in seconds, between two runs of such an attempt.
MAX_OUTAGE_BACKOFF = 2.0


class Action(StrEnum):
    #: Acknowledge: the job is done or had nothing to do.
    ACK = "ack"
    #: Publish again to retry delay ``retry_index`` with attempt ``attempt``, then acknowledge.
    RETRY = "retry"
    #: Park the job in the dead-letter queue, then acknowledge.
    DEAD = "dead"


@dataclass(frozen=True)
class Settlement:
    """What the transport does with a delivery once the handler is through with it."""

    action: Action
    attempt: int = 1
    retry_index: int = 0
    failure: Failure | None = None
    #: Why a job is dead-lettered without a verdict on its media (it disagrees with the record).
    note: str = ""


class RetryMiddleware:
    def __init__(
        self,
        handler: JobHandler,
        retry_delays: Sequence[float],
        never_retried: Mapping[type[BaseException], FailureReason] = NEVER_RETRIED,
        *,
        outage_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.handler = handler
        self.retry_delays = tuple(retry_delays)
        self.never_retried = dict(never_retried)
        self.outage_seconds = outage_seconds
        self.sleep = sleep

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def process(self, job: ProcessingJob, attempt: int) -> Settlement:
        """Run the job once (attempt ``attempt``, 1-based) and decide what happens next."""
        try:
            handled = self._handle_through_outages(job)
        except JobDisagrees as e:
            log.error("job %s dead-lettered: %s", job.job_id, e)
            return Settlement(Action.DEAD, attempt=attempt, note=str(e)[:MESSAGE_CHARS])
        except MediaRejected as e:
            return self._end(job, Failure(e.reason, scrub(e.message)[:MESSAGE_CHARS]), attempt)
        except Exception as e:  # noqa: BLE001 - every other error is a retry candidate
            reason = self._never_retried_reason(e)
            detail = f"{type(e).__name__}: {e}{_crash_detail(e)}"
            if reason is not None:
                log.warning("job %s attempt %d ended: %s", job.job_id, attempt, detail)
                return self._end(job, Failure(reason, user_message(e)), attempt)
            if attempt < self.max_attempts:
                log.warning("job %s attempt %d failed (%s); retrying", job.job_id, attempt, detail)
                return Settlement(Action.RETRY, attempt=attempt + 1, retry_index=attempt - 1)
            log.warning("job %s attempt %d failed (%s); giving up", job.job_id, attempt, detail)
            failure = Failure(
                FailureReason.PROCESSING_ERROR,
                f"gave up after {attempt} attempts: {user_message(e)}",
            )
            return self._end(job, failure, attempt)
        if handled is Handled.BUSY:
            return Settlement(Action.RETRY, attempt=attempt, retry_index=0)
        return Settlement(Action.ACK, attempt=attempt)

    def _handle_through_outages(self, job: ProcessingJob) -> Handled:
        """``handler.handle(job)``, run again while the database is unavailable (handlers are
        idempotent), for up to ``outage_seconds``; then the error goes the usual way."""
        give_up_at = time.monotonic() + self.outage_seconds
        backoff = FIRST_OUTAGE_BACKOFF
        while True:
            try:
                return self.handler.handle(job)
            except DatabaseUnavailable as e:
                if time.monotonic() + backoff > give_up_at:
                    raise
                log.warning("job %s: %s; running it again in %.2f s", job.job_id, e, backoff)
            self.sleep(backoff)
            backoff = min(backoff * 2, MAX_OUTAGE_BACKOFF)

    def _never_retried_reason(self, error: BaseException) -> FailureReason | None:
        for error_type, reason in self.never_retried.items():
            if isinstance(error, error_type):
                return reason
        return None

    def _end(self, job: ProcessingJob, failure: Failure, attempt: int) -> Settlement:
        try:
            self.handler.fail(job, failure)
        except Exception:
            log.exception("job %s: cannot record FAILED; retrying the job later", job.job_id)
            return Settlement(Action.RETRY, attempt=attempt, retry_index=0)
        return Settlement(Action.DEAD, attempt=attempt, failure=failure)


def user_message(error: BaseException) -> str:
    """What the uploader reads of an error that is not about their file's content: what
    happened, never a path, host, URL or exception text (those are logged with the job id)."""
    if isinstance(error, TimeLimitExceeded):
        return str(error)
    if isinstance(error, StageCrashed):
        return "processing the file failed unexpectedly"
    return "processing could not complete (a service it needs was unavailable)"


def _crash_detail(error: BaseException) -> str:
    detail = error.detail if isinstance(error, StageCrashed) else ""
    return f"\n{detail}" if detail else ""
