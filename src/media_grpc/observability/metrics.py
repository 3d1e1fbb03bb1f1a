"""Every Prometheus metric of media-grpc, in one place (names prefixed ``media_``).

Counters are exposed with a ``_total`` suffix (``media_rpc_requests_total``). docs/operations.md
lists them with their labels; deploy/prometheus/alerts.yml alerts on them.
"""

from __future__ import annotations

import logging
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

log = logging.getLogger(__name__)


class MetricsAddress(Protocol):
    """Where to serve metrics (the Settings object has these two)."""

    @property
    def metrics_host(self) -> str: ...

    @property
    def metrics_port(self) -> int: ...


#: Buckets of RPC latency, in seconds.
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Buckets of processing duration, in seconds (images take well under a second, videos minutes).
PROCESSING_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

# RPCs (the server's interceptor).
RPC_REQUESTS = Counter(
    "media_rpc_requests", "RPCs handled, by method and status code", ["method", "code"]
)
RPC_DURATION = Histogram(
    "media_rpc_duration_seconds",
    "Time to handle an RPC (a WatchMedia stream: until it ends), by method",
    ["method"],
    buckets=RPC_BUCKETS,
)

# Uploads (the server).
UPLOAD_SESSIONS_CREATED = Counter(
    "media_upload_sessions_created",
    "Upload sessions created, by purpose and mode (single, multipart, or deduplicated: the "
    "owner had the bytes READY, nothing to upload)",
    ["purpose", "mode"],
)
UPLOADS_COMPLETED = Counter(
    "media_uploads_completed", "Uploads verified and accepted, by purpose", ["purpose"]
)
UPLOADS_FAILED = Counter(
    "media_uploads_failed",
    "Uploads that did not make it, by reason (a verification failure or EXPIRED)",
    ["reason"],
)
VERIFICATION_FAILURES = Counter(
    "media_verification_failures",
    "CompleteUpload calls whose object failed verification, by FailureReason",
    ["reason"],
)

# Jobs (the outbox relay and the workers).
JOBS_PUBLISHED = Counter(
    "media_jobs_published", "Processing jobs published to the broker, by kind", ["kind"]
)
JOBS_CONSUMED = Counter(
    "media_jobs_consumed",
    "Processing jobs a worker finished, by kind and result (success, failed, skipped)",
    ["kind", "result"],
)
JOBS_RETRIED = Counter("media_jobs_retried", "Processing jobs sent back for a retry", ["kind"])
JOBS_DEAD_LETTERED = Counter(
    "media_jobs_dead_lettered", "Processing jobs given up on and dead-lettered", ["kind"]
)
PROCESSING_DURATION = Histogram(
    "media_processing_duration_seconds",
    "Time a worker spent on one job, by kind and result",
    ["kind", "result"],
    buckets=PROCESSING_BUCKETS,
)
OPEN_STREAMS = Gauge("media_open_streams", "Server-streaming RPCs open on this process")
CHANGE_FEED_RECONNECTS = Counter(
    "media_change_feed_reconnects", "Times the status change listener connected again"
)
OUTBOX_BACKLOG = Gauge("media_outbox_backlog", "Outbox messages not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "media_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox message (0: none)"
)

# Lifecycle (cleanup).
CLEANUP_ACTIONS = Counter(
    "media_cleanup_actions",
    "What cleanup runs did: expired_session, unattached_deleted, record_purged",
    ["action"],
)

#: Job results (the ``result`` label of JOBS_CONSUMED and PROCESSING_DURATION).
JOB_RESULTS = ("success", "failed", "skipped")


class MetricsEndpoint:
    """The ``/metrics`` HTTP server of this process."""

    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.port = int(server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start_metrics_server(host: str, port: int) -> MetricsEndpoint | None:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; None when ``port`` is 0 (off).

    Raises OSError when the port is taken: a misconfigured port is not silently ignored.
    """
    if port == 0:
        return None
    disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double the output and help nobody here
    server, _thread = start_http_server(port, addr=host)
    return MetricsEndpoint(server)


def serve_metrics(settings: MetricsAddress) -> MetricsEndpoint | None:
    """The endpoint of a server or worker process. A port already taken is logged as an error
    and the process goes on without metrics: losing metrics is better than losing the service."""
    try:
        endpoint = start_metrics_server(settings.metrics_host, settings.metrics_port)
    except OSError as e:
        log.error(
            "metrics endpoint not started on %s:%d (%s); set MEDIA_METRICS_PORT (0: off)",
            settings.metrics_host,
            settings.metrics_port,
            e,
        )
        return None
    if endpoint is not None:
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, endpoint.port)
    return endpoint
