"""Settings of the processing pipeline: relay, broker topology, workers (MEDIA_PIPELINE__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PipelineSettings(BaseModel):
    """How jobs travel from the outbox to the workers and back to READY or FAILED."""

    #: Delay before each retry, in seconds; a job gets ``len(retry_delays_seconds) + 1``
    #: attempts, then goes to the dead-letter queue and its media becomes FAILED.
    retry_delays_seconds: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 600.0], min_length=1
    )
    #: Unacknowledged messages a worker holds at once (at least ``worker_threads``).
    prefetch: int = 2
    #: Jobs a worker process runs at once, each on its own thread.
    worker_threads: int = 2
    #: Jobs a pre-started stage child runs before it is replaced by a fresh one.
    stage_child_max_jobs: int = Field(default=100, gt=0)
    #: Resident memory, in MiB, of a stage child after a job above which it is replaced.
    stage_child_max_rss_mb: int = Field(default=1024, gt=0)
    #: Seconds a stopping worker lets its current jobs finish before the broker requeues them.
    stop_grace_seconds: float = 30.0
    #: Outbox rows the relay claims per transaction.
    relay_batch_size: int = 100
    #: Seconds the relay sleeps when the outbox is empty.
    relay_poll_interval_seconds: float = 0.5
    #: Longest backoff, in seconds, of the relay while the broker or the database is
    #: unreachable: jobs flow again at most this long after the dependency is back.
    relay_max_backoff_seconds: float = 2.0
    #: Longest wait, in seconds, between a worker's attempts to reconnect to the broker.
    worker_reconnect_max_seconds: float = 2.0
    #: SQLite only: seconds between two polls of the process's one change feed (PostgreSQL
    #: uses LISTEN/NOTIFY).
    watch_poll_interval_seconds: float = 0.2
    #: Longest life of one WatchMedia stream, in seconds; the client re-watches after it.
    #: Each open stream holds a server thread, so streams must not live forever.
    watch_max_seconds: float = 300.0
