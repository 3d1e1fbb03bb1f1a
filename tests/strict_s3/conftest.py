"""The service against the shared strict S3 (Ceph's RADOS Gateway, tests/services.py
``strict_s3()``): a bucket of this run's own set up by `storage init`'s code, a PostgreSQL
database of its own, a real gRPC server and its in-process worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from media_grpc.adapters.database import scratch_database
from tests.services import S3Service, postgres_url, strict_s3
from tests.strict_s3.service import RunningService, running_service, strict_settings


@pytest.fixture(scope="session")
def strict_s3_service() -> S3Service:
    return strict_s3()


@pytest.fixture(scope="session")
def strict_database_url() -> Iterator[str]:
    with postgres_url() as server_url, scratch_database(server_url, "media_strict") as url:
        yield url


@pytest.fixture(scope="session")
def service(strict_s3_service: S3Service, strict_database_url: str) -> Iterator[RunningService]:
    with running_service(strict_settings(strict_s3_service, strict_database_url)) as running:
        yield running
