"""Where the real services are: environment first, then this machine, then testcontainers.

Integration tests FAIL when a service cannot be found: a skipped integration test proves nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from tests.strict_s3.shared_store import (
    STRICT_S3_ACCESS_KEY,
    STRICT_S3_SECRET_KEY,
    StrictS3NotStarted,
    ensure_shared_strict_s3,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


@contextmanager
def _service_url(
    variable: str, default: str, port: int, what: str, container: Callable[[], Iterator[str]]
) -> Iterator[str]:
    """The URL in ``variable`` (else ``default``) when it answers, else one of a ``container``
    that Docker starts; the run FAILS when neither is possible."""
    url = os.environ.get(variable, default)
    if reachable(url, port):
        yield url
        return
    if not _docker_available():
        pytest.fail(
            f"{what} is not reachable at {url} and no Docker engine exists: "
            f"start it (make services) or set {variable}"
        )
    yield from container()


def _postgres_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

    with PostgresContainer("postgres:16", driver="psycopg") as container:
        yield container.get_connection_url()


def _rabbitmq_container() -> Iterator[str]:
    from testcontainers.rabbitmq import RabbitMqContainer  # type: ignore[import-not-found]

    with RabbitMqContainer("rabbitmq:3.13") as container:
        params = container.get_connection_params()
        yield (
            f"amqp://{params.credentials.username}:{params.credentials.password}"
            f"@{params.host}:{params.port}/%2F"
        )


def postgres_url() -> AbstractContextManager[str]:
    return _service_url(
        "MEDIA_TEST_DATABASE_URL", DEFAULT_DATABASE_URL, 5432, "PostgreSQL", _postgres_container
    )


def rabbitmq_url() -> AbstractContextManager[str]:
    return _service_url(
        "MEDIA_TEST_BROKER_URL", DEFAULT_BROKER_URL, 5672, "RabbitMQ", _rabbitmq_container
    )


@dataclass(frozen=True)
class S3Service:
    """An S3 endpoint and the keys it accepts."""

    url: str
    access_key: str
    secret_key: str


def strict_s3() -> S3Service:
    """MEDIA_TEST_S3_URL (with MEDIA_TEST_S3_ACCESS_KEY / _SECRET_KEY) when set, else the shared
    strict S3 on this machine, started (and installed, as root) by scripts/strict-s3.sh when it
    does not answer. Never moto: a mock proves nothing of what S3 enforces."""
    url = os.environ.get("MEDIA_TEST_S3_URL")
    if url:
        return S3Service(
            url,
            os.environ.get("MEDIA_TEST_S3_ACCESS_KEY", STRICT_S3_ACCESS_KEY),
            os.environ.get("MEDIA_TEST_S3_SECRET_KEY", STRICT_S3_SECRET_KEY),
        )
    try:
        started = ensure_shared_strict_s3()
    except StrictS3NotStarted as e:
        pytest.fail(f"{e}; or set MEDIA_TEST_S3_URL")
    return S3Service(started, STRICT_S3_ACCESS_KEY, STRICT_S3_SECRET_KEY)
