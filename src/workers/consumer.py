"""The RabbitMQ consumer: manual acks, prefetch, jobs on worker threads.

The pika connection lives on the thread that calls ``run()``; it keeps serving heartbeats
while jobs run on a thread pool, and every ack and publish goes back to it through
``connection.add_callback_threadsafe``. A 30-minute transcode therefore never loses its
connection. ``request_stop()`` (SIGTERM) stops consuming, lets running jobs finish for
``stop_grace`` seconds, then closes: whatever is still unacknowledged is requeued by the broker.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from media_grpc.adapters.broker_return import wait_for_broker
from media_grpc.adapters.job_messages import (
    TRACE_HEADER,
    MalformedJob,
    attempt_of,
    decode_job,
    job_headers,
)
from media_grpc.adapters.rabbitmq_publisher import connection_parameters, message_properties
from media_grpc.adapters.rabbitmq_topology import Topology
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind
from workers.retries import Action, RetryMiddleware, Settlement

log = logging.getLogger(__name__)
#: Seconds before the first attempt to reconnect to the broker.
FIRST_BACKOFF = 0.25


@dataclass(frozen=True)
class Delivery:
    """One message being processed, with the connection and channel it must be settled on."""

    connection: Any
    channel: Any
    tag: int
    job: ProcessingJob
    attempt: int
    headers: dict[str, Any]
    body: bytes


class RabbitMqConsumer:
    def __init__(
        self,
        url: str,
        topology: Topology,
        middleware: RetryMiddleware,
        kinds: Sequence[JobKind] = tuple(JobKind),
        *,
        prefetch: int = 2,
        threads: int = 2,
        stop_grace: float = 30.0,
        max_backoff: float = 2.0,
        on_start: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """``on_start`` runs before the first connection (the stage pool starts warming up),
        ``on_stop`` once ``run()`` is through. ``max_backoff`` caps the seconds between two
        attempts to reconnect, so that jobs flow again soon after the broker is back."""
        self.url = url
        self.topology = topology
        self.middleware = middleware
        self.kinds = tuple(kinds)
        self.prefetch = prefetch
        self.threads = threads
        self.stop_grace = stop_grace
        self.max_backoff = max_backoff
        self.on_start = on_start
        self.on_stop = on_stop
        self.ready = threading.Event()
        self._stop = threading.Event()
        #: Deliveries of the current channel not yet settled (connection thread only).
        self._unsettled = 0
        self._channel: Any = None
        self._running = 0
        self._running_lock = threading.Lock()

    @property
    def running(self) -> int:
        """Jobs executing on worker threads right now."""
        with self._running_lock:
            return self._running

    def request_stop(self) -> None:
        """Thread- and signal-safe: stop consuming and return from ``run()``."""
        self._stop.set()

    def run(self) -> None:
        """Consume until ``request_stop()``; reconnect with backoff when the broker drops
        (from 0.25 s, doubling up to ``max_backoff``, and from 0.25 s again after a connection
        that worked), and at once when its port answers again (``wait_for_broker``)."""
        executor = ThreadPoolExecutor(self.threads, thread_name_prefix="job")
        backoff = FIRST_BACKOFF
        try:
            if self.on_start is not None:
                self.on_start()
            while not self._stop.is_set():
                self.ready.clear()
                try:
                    self._consume(executor)
                    return
                except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed) as e:
                    if self.ready.is_set():
                        backoff = FIRST_BACKOFF
                    log.warning(
                        "broker connection lost (%s); reconnecting within %.1f s", e, backoff
                    )
                    wait_for_broker(self.url, backoff, self._stop)
                    backoff = min(backoff * 2, self.max_backoff)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            if self.on_stop is not None:
                self.on_stop()

    def _consume(self, executor: ThreadPoolExecutor) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.url))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            self.topology.declare(channel)
            channel.basic_qos(prefetch_count=self.prefetch)
            self._channel, self._unsettled = channel, 0
            tags = [
                channel.basic_consume(
                    queue=self.topology.queue(self.topology.work_key(kind)),
                    on_message_callback=functools.partial(
                        self._on_message, executor, connection, kind
                    ),
                )
                for kind in self.kinds
            ]
            self.ready.set()
            log.info("worker consuming %s", ", ".join(k.value for k in self.kinds))
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.5)
            for tag in tags:
                channel.basic_cancel(tag)
            deadline = time.monotonic() + self.stop_grace
            while self._unsettled and time.monotonic() < deadline:
                connection.process_data_events(time_limit=0.2)
            if self._unsettled:
                log.warning("%d jobs still running; the broker requeues them", self._unsettled)
        finally:
            if connection.is_open:
                connection.close()

    def _on_message(
        self,
        executor: ThreadPoolExecutor,
        connection: Any,
        kind: JobKind,
        channel: Any,
        method: Any,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        if self._stop.is_set():
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        headers = dict(properties.headers or {})
        try:
            job = decode_job(body)
        except MalformedJob as e:
            log.error("parking a malformed message: %s", e)
            self._publish(channel, self.topology.dead_key(kind), body, headers, "malformed")
            channel.basic_ack(method.delivery_tag)
            return
        self._unsettled += 1
        delivery = Delivery(
            connection, channel, method.delivery_tag, job, attempt_of(headers), headers, body
        )
        executor.submit(self._work, delivery)

    def _work(self, delivery: Delivery) -> None:
        """On a worker thread: run the job, then settle it on its connection's thread."""
        with self._running_lock:
            self._running += 1
        try:
            settlement: Settlement | None = self.middleware.process(delivery.job, delivery.attempt)
        except Exception:
            log.exception("job %s crashed the middleware; requeueing", delivery.job.job_id)
            settlement = None
        finally:
            with self._running_lock:
                self._running -= 1
        try:
            delivery.connection.add_callback_threadsafe(
                functools.partial(self._settle, delivery, settlement)
            )
        except (pika.exceptions.AMQPError, OSError):
            log.warning("job %s ended after its connection closed: requeued", delivery.job.job_id)

    def _settle(self, delivery: Delivery, settlement: Settlement | None) -> None:
        """On the connection's thread: publish the retry or dead letter, then ack."""
        channel, job = delivery.channel, delivery.job
        if channel is self._channel:
            self._unsettled -= 1
        if not channel.is_open:
            return
        try:
            if settlement is None:
                channel.basic_nack(delivery.tag, requeue=True)
                return
            if settlement.action is Action.RETRY:
                key = self.topology.retry_key(job.kind, settlement.retry_index)
                headers = job_headers(settlement.attempt, delivery.headers.get(TRACE_HEADER))
                self._publish(channel, key, delivery.body, headers, job.job_id)
            elif settlement.action is Action.DEAD:
                headers = dict(delivery.headers)
                if settlement.failure is not None:
                    headers["x-failure-reason"] = settlement.failure.reason.value
                    headers["x-failure-message"] = settlement.failure.message
                if settlement.note:
                    headers["x-dead-reason"] = settlement.note
                dead_key = self.topology.dead_key(job.kind)
                self._publish(channel, dead_key, delivery.body, headers, job.job_id)
            channel.basic_ack(delivery.tag)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            log.exception("job %s: cannot route its retry; requeueing", job.job_id)
            channel.basic_nack(delivery.tag, requeue=True)

    def _publish(
        self, channel: Any, key: str, body: bytes, headers: dict[str, Any], message_id: str
    ) -> None:
        channel.basic_publish(
            exchange=self.topology.exchange,
            routing_key=key,
            body=body,
            properties=message_properties(message_id, headers),
            mandatory=True,
        )
