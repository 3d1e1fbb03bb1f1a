"""Publishing jobs to RabbitMQ with publisher confirms; pika errors become PublishFailed."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pika
import pika.exceptions

from media_grpc.adapters.broker_return import wait_for_broker
from media_grpc.adapters.job_messages import CONTENT_TYPE, MESSAGE_TYPE, encode_job, job_headers
from media_grpc.adapters.job_publisher import JobPublisher, PublishFailed
from media_grpc.adapters.rabbitmq_topology import Topology
from media_grpc.domain.jobs import ProcessingJob

log = logging.getLogger(__name__)

#: Seconds to wait for a TCP connection or a socket read before giving up.
SOCKET_TIMEOUT = 5.0


def connection_parameters(url: str, *, heartbeat: int | None = None) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = SOCKET_TIMEOUT
    params.blocked_connection_timeout = 30
    if heartbeat is not None:
        params.heartbeat = heartbeat
    return params


def message_properties(
    job_id: str, headers: dict[str, object], *, persistent: bool = True
) -> pika.BasicProperties:
    return pika.BasicProperties(
        message_id=job_id,
        content_type=CONTENT_TYPE,
        type=MESSAGE_TYPE,
        delivery_mode=pika.DeliveryMode.Persistent if persistent else None,
        headers=headers,
    )


class RabbitMqJobPublisher(JobPublisher):
    """One connection and confirm-mode channel, opened on first use and after any failure.

    Not thread-safe: each relay owns one. ``publish`` returns after the broker confirmed the
    message; an unroutable message (``mandatory``) or a nack raises PublishFailed.
    """

    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology
        self._connection: Any = None
        self._channel: Any = None

    def publish(self, job: ProcessingJob) -> None:
        try:
            channel = self._open()
            channel.basic_publish(
                exchange=self.topology.exchange,
                routing_key=self.topology.work_key(job.kind),
                body=encode_job(job),
                properties=message_properties(job.job_id, job_headers(attempt=1)),
                mandatory=True,
            )
        except (pika.exceptions.AMQPError, OSError) as e:
            self.close()
            raise PublishFailed(f"{type(e).__name__}: {e}") from None

    def start(self) -> None:
        """Connect and declare the topology at start-up; a broker that is down is only logged:
        publishing retries later."""
        try:
            self._open()
        except (pika.exceptions.AMQPError, OSError) as e:
            self.close()
            log.warning("broker unreachable at start-up (%s); jobs wait in the outbox", e)

    def idle(self) -> None:
        """Serve heartbeats while the outbox is empty, so the broker keeps the connection."""
        if self._connection is None or not self._connection.is_open:
            return
        try:
            self._connection.process_data_events(time_limit=0)
        except (pika.exceptions.AMQPError, OSError):
            log.info("publisher connection lost while idle; reconnecting on next publish")
            self.close()

    def wait_for_return(self, seconds: float, stop: threading.Event) -> None:
        """Until the broker's port answers again, at most ``seconds``."""
        wait_for_broker(self.url, seconds, stop)

    def _open(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(connection_parameters(self.url))
        channel = self._connection.channel()
        channel.confirm_delivery()
        self.topology.declare(channel)
        self._channel = channel
        log.info("publisher connected; topology %r declared", self.topology.prefix)
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                log.debug("closing a broken publisher connection", exc_info=True)
