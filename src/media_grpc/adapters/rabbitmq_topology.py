"""Exchange and queues of the pipeline, declared idempotently by the server and every worker.

With ``prefix = "media"`` and retry delays 10 s, 1 min, 10 min::

    exchange "media" (direct, durable)
      image               -> media.image              (quorum: the work queue; a message
                                                       delivered DELIVERY_LIMIT times without
                                                       an ack, a worker-killing job, is parked
                                                       in media.image.dead)
      image.retry.10s     -> media.image.retry.10s    (TTL 10 s, dead-letters to "image")
      image.retry.1m      -> media.image.retry.1m     (TTL 60 s, dead-letters to "image")
      image.retry.10m     -> media.image.retry.10m    (TTL 600 s, dead-letters to "image")
      image.dead          -> media.image.dead         (quorum: parked after the last attempt)
      ... and the same for "video".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from media_grpc.domain.model import JobKind

#: Deliveries of one message without an ack (its workers died) before the broker parks it.
DELIVERY_LIMIT = 10


def delay_label(seconds: float) -> str:
    """``10s``, ``1m``, ``10m``; ``250ms`` for the short delays of tests."""
    ms = round(seconds * 1000)
    if ms % 60_000 == 0 and ms:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


@dataclass(frozen=True)
class Topology:
    """Names of the pipeline's exchange, queues and routing keys under one prefix."""

    prefix: str
    retry_delays_seconds: tuple[float, ...]

    @property
    def exchange(self) -> str:
        return self.prefix

    @staticmethod
    def work_key(kind: JobKind) -> str:
        return kind.value.lower()

    def retry_key(self, kind: JobKind, retry_index: int) -> str:
        """Routing key of the ``retry_index``-th (0-based) retry delay."""
        return f"{self.work_key(kind)}.retry.{delay_label(self.retry_delays_seconds[retry_index])}"

    def dead_key(self, kind: JobKind) -> str:
        return f"{self.work_key(kind)}.dead"

    def queue(self, routing_key: str) -> str:
        return f"{self.prefix}.{routing_key}"

    def declarations(self) -> list[tuple[str, dict[str, Any]]]:
        """Every (routing key, queue arguments) pair; the queue name is ``prefix.key``."""
        found: list[tuple[str, dict[str, Any]]] = []
        for kind in JobKind:
            found.append(
                (
                    self.work_key(kind),
                    {
                        "x-queue-type": "quorum",
                        "x-delivery-limit": DELIVERY_LIMIT,
                        "x-dead-letter-exchange": self.exchange,
                        "x-dead-letter-routing-key": self.dead_key(kind),
                    },
                )
            )
            for index, delay in enumerate(self.retry_delays_seconds):
                found.append(
                    (
                        self.retry_key(kind, index),
                        {
                            "x-message-ttl": round(delay * 1000),
                            "x-dead-letter-exchange": self.exchange,
                            "x-dead-letter-routing-key": self.work_key(kind),
                        },
                    )
                )
            found.append((self.dead_key(kind), {"x-queue-type": "quorum"}))
        return found

    def declare(self, channel: Any) -> None:
        """Declare on a pika channel; re-declaring the same topology is a no-op."""
        channel.exchange_declare(exchange=self.exchange, exchange_type="direct", durable=True)
        for key, arguments in self.declarations():
            channel.queue_declare(queue=self.queue(key), durable=True, arguments=arguments)
            channel.queue_bind(queue=self.queue(key), exchange=self.exchange, routing_key=key)

    def delete(self, channel: Any) -> None:
        """Remove every queue and the exchange (tests and uninstalls)."""
        for key, _ in self.declarations():
            channel.queue_delete(queue=self.queue(key))
        channel.exchange_delete(exchange=self.exchange)
