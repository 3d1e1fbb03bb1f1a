"""`media-grpc serve` with a broker: its relay declares the queues at start-up, before any job."""

from __future__ import annotations

import uuid
from pathlib import Path

import pika
import pika.exceptions

from media_grpc.adapters.rabbitmq_topology import Topology
from tests.e2e.conftest import embedded_env, start_serve, stop
from tests.services import rabbitmq_url
from tests.waiting import eventually


def missing_queues(url: str, queues: list[str]) -> list[str]:
    missing = []
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in queues:
            channel = connection.channel()
            try:
                channel.queue_declare(queue, passive=True)
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                missing.append(queue)
    finally:
        connection.close()
    return missing


def test_serve_with_a_broker_and_no_upload_declares_every_queue_at_start_up(
    tmp_path: Path,
) -> None:
    prefix = f"media-e2e-{uuid.uuid4().hex[:10]}"
    with rabbitmq_url() as url:
        topology = Topology(prefix, (1.0,))
        queues = [topology.queue(key) for key, _ in topology.declarations()]
        env = embedded_env(
            tmp_path,
            MEDIA_BROKER_URL=url,
            MEDIA_BROKER_PREFIX=prefix,
            MEDIA_PIPELINE__RETRY_DELAYS_SECONDS="[1.0]",
        )
        assert missing_queues(url, queues) == queues
        served = start_serve(env)
        try:

            def declared() -> bool:
                assert served.process.poll() is None, "media-grpc serve exited"
                return not missing_queues(url, queues)

            eventually(declared, lambda: f"declared at start-up: {missing_queues(url, queues)}", 30)
        finally:
            stop(served.process)
            connection = pika.BlockingConnection(pika.URLParameters(url))
            try:
                topology.delete(connection.channel())
            finally:
                connection.close()
