"""`media-grpc worker`, assembled: the RabbitMQ consumer on the main thread, the cleanup schedule
and the metrics endpoint beside it, all stopped through the ``ProcessRuntime``."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from media_grpc.adapters.job_directories import sweep_left_job_directories
from media_grpc.bootstrap import build_application
from media_grpc.config import Settings
from media_grpc.domain.model import JobKind
from media_grpc.observability.metrics import serve_metrics
from media_grpc.pipeline_bootstrap import build_consumer
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.runtime.serving import start_cleanup_schedule

log = logging.getLogger("media_grpc.worker")


def work(settings: Settings, kinds: Sequence[JobKind]) -> int:
    """Consume jobs of ``kinds`` until SIGTERM or SIGINT: running jobs get
    ``MEDIA_PIPELINE__STOP_GRACE_SECONDS`` to finish; what is left goes back to the queue."""
    runtime = ProcessRuntime("worker")
    sweep_left_job_directories()  # a worker killed mid-job left its original there
    app = build_application(settings, migrate=False)
    runtime.on_stop("application", app.close)
    consumer = build_consumer(app, kinds)
    runtime.when_stop_requested(consumer.request_stop)
    runtime.handle_signals()
    endpoint = serve_metrics(settings)
    if endpoint is not None:
        runtime.on_stop("metrics endpoint", endpoint.stop)
    start_cleanup_schedule(runtime, app)
    try:
        consumer.run()  # on this thread, until a stop is asked for
    finally:
        abandoned = consumer.running
        runtime.stop()
    if abandoned:
        # Their messages are back in the queue; do not wait for the threads to finish.
        log.warning("worker stopped, abandoning %d running jobs", abandoned)
        logging.shutdown()
        os._exit(0)
    log.info("worker stopped")
    return 0
