"""Waiting out a broker backoff ends as soon as the broker's port answers again."""

from __future__ import annotations

import socket
import threading
import time

from media_grpc.adapters.broker_return import PROBE_SECONDS, broker_address, wait_for_broker
from tests.ports import free_port


def test_the_address_comes_from_the_url_with_amqps_default_port() -> None:
    assert broker_address("amqp://guest:guest@rabbit:5673/%2F") == ("rabbit", 5673)
    assert broker_address("amqp://guest:guest@rabbit/%2F") == ("rabbit", 5672)
    assert broker_address("amqps://u:p@rabbit/%2F") == ("rabbit", 5671)


def test_a_backoff_is_waited_out_while_nothing_answers() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    started = time.monotonic()
    wait_for_broker(url, 1.0, threading.Event())
    assert time.monotonic() - started >= 1.0


def test_a_backoff_ends_when_the_broker_port_answers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"amqp://guest:guest@127.0.0.1:{listener.getsockname()[1]}/%2F"
        started = time.monotonic()
        wait_for_broker(url, 30.0, threading.Event())
        waited = time.monotonic() - started
    assert PROBE_SECONDS <= waited < 5, f"waited {waited:.2f} s for a broker that answered"


def test_a_backoff_ends_when_asked_to_stop() -> None:
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    wait_for_broker(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", 30.0, stop)
    assert time.monotonic() - started < 5
