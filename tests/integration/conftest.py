"""Integration fixtures: a fresh PostgreSQL database, the strict S3 (Ceph's RADOS Gateway, or
MEDIA_TEST_S3_URL) with a bucket of this run's own, a real gRPC server on a free port and a
channel to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from media.v1 import media_pb2_grpc
from sqlalchemy.engine import make_url

from media_grpc.adapters.database import scratch_database
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.api.server import RunningServer
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from tests.s3_buckets import client_of, scratch_bucket
from tests.services import S3Service, postgres_url, strict_s3

Metadata = list[tuple[str, str]]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of its own for this test run, migrated to head, dropped afterwards."""
    with postgres_url() as server_url, scratch_database(server_url, "media_test") as url:
        yield url


@pytest.fixture(scope="session")
def database_template() -> Iterator[tuple[str, str]]:
    """(server URL, name) of a migrated database nobody connects to: copied per test."""
    with postgres_url() as server_url, scratch_database(server_url, "media_template") as url:
        yield server_url, str(make_url(url).database)


@pytest.fixture
def own_database_url(database_template: tuple[str, str]) -> Iterator[str]:
    """A migrated database of this test's own (its outbox shared with no other test)."""
    server_url, template = database_template
    with scratch_database(server_url, "media_own", template=template) as url:
        yield url


@pytest.fixture(scope="session")
def s3() -> S3Service:
    """The strict S3 every storage test meets (never moto: see tests/services.py)."""
    return strict_s3()


@pytest.fixture(scope="session")
def s3_endpoint(s3: S3Service) -> str:
    return s3.url


@pytest.fixture(scope="session")
def s3_admin(s3: S3Service) -> Any:
    """A boto3 client of the strict S3, for what tests arrange and inspect there."""
    return client_of(s3)


@pytest.fixture(scope="session")
def run_bucket(s3_admin: Any) -> Iterator[str]:
    """The bucket of this test run (unique: runs share the store), deleted at its end."""
    with scratch_bucket(s3_admin, "media-test") as bucket:
        yield bucket


@pytest.fixture
def own_bucket(s3_admin: Any) -> Iterator[str]:
    """A bucket of this test's own, deleted with its contents afterwards."""
    with scratch_bucket(s3_admin, "media-own") as bucket:
        yield bucket


def s3_settings(s3: S3Service, bucket: str, **more: Any) -> Settings:
    """Settings of a development server on ``bucket`` of the strict S3."""
    return Settings(
        environment="development",
        s3_endpoint_url=s3.url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,  # type: ignore[arg-type]
        s3_bucket=bucket,
        grpc_listen="127.0.0.1:0",
        **more,
    )


@pytest.fixture(scope="session")
def settings(database_url: str, s3: S3Service, run_bucket: str) -> Settings:
    return s3_settings(s3, run_bucket, database_url=database_url)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Application]:
    application = build_application(settings, migrate=False)
    yield application
    application.close()


@pytest.fixture(scope="session")
def server(app: Application) -> Iterator[RunningServer]:
    running = app.serve("127.0.0.1:0")
    yield running
    running.stop(1)


@pytest.fixture(scope="session")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> media_pb2_grpc.MediaServiceStub:
    return media_pb2_grpc.MediaServiceStub(channel)


@pytest.fixture(scope="session")
def auth(settings: Settings) -> Callable[..., Metadata]:
    """``auth("alice")`` or ``auth("post-service", role="service")``: call metadata."""

    def metadata(subject: str, role: str | None = None) -> Metadata:
        return [("authorization", f"Bearer {issue_token(settings.auth, subject, role=role)}")]

    return metadata
