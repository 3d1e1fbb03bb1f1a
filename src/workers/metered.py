"""Jobs as operators see them: one log line and the job metrics per delivery, and a count of
jobs published. A subclass of the retry middleware and a hook of the outbox relay, so that
neither the policy nor the publisher knows."""

from __future__ import annotations

import logging
import time

from media_grpc.domain.jobs import ProcessingJob
from media_grpc.observability import metrics
from media_grpc.observability.logs import bound
from workers.retries import Action, RetryMiddleware, Settlement

log = logging.getLogger("media_grpc.jobs")


class MeteredRetryMiddleware(RetryMiddleware):
    """The retry policy, plus: media_id/job_id on every log line the job emits, one line per
    delivery with its outcome, and the job counters and processing duration."""

    def process(self, job: ProcessingJob, attempt: int) -> Settlement:
        kind = job.kind.value.lower()
        with bound(media_id=job.media_id, job_id=job.job_id, kind=kind):
            started = time.perf_counter()
            settlement = super().process(job, attempt)
            elapsed = time.perf_counter() - started
            if settlement.action is Action.RETRY:
                outcome = "retry"
                metrics.JOBS_RETRIED.labels(kind).inc()
            else:
                outcome = "success" if settlement.action is Action.ACK else "failed"
                metrics.JOBS_CONSUMED.labels(kind, outcome).inc()
                metrics.PROCESSING_DURATION.labels(kind, outcome).observe(elapsed)
            if settlement.action is Action.DEAD:
                metrics.JOBS_DEAD_LETTERED.labels(kind).inc()
            log.info(
                "job",
                extra={
                    "outcome": outcome,
                    "attempt": attempt,
                    "duration_ms": round(elapsed * 1000, 2),
                    "failure": settlement.failure.reason.value if settlement.failure else None,
                },
            )
        return settlement


def count_published(job: ProcessingJob) -> None:
    """The relay's after-publish hook: counts the jobs the transport took."""
    metrics.JOBS_PUBLISHED.labels(job.kind.value.lower()).inc()
