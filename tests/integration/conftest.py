"""Integration fixtures: a fresh PostgreSQL database, the moto S3 server over HTTP, a real
gRPC server on a free port and a channel to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from media.v1 import media_pb2_grpc
from sqlalchemy.engine import make_url

from media_grpc.adapters.database import scratch_database
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.api.server import RunningServer
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from tests.moto_s3 import MotoS3
from tests.services import postgres_url

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
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, over real HTTP."""
    server = MotoS3(port=0)
    endpoint = server.start()
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def settings(database_url: str, s3_endpoint: str) -> Settings:
    return Settings(
        environment="development",
        database_url=database_url,
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id=EMBEDDED_ACCESS_KEY,
        s3_secret_access_key=EMBEDDED_SECRET_KEY,  # type: ignore[arg-type]
        s3_bucket=f"media-test-{uuid.uuid4().hex[:8]}",
        grpc_listen="127.0.0.1:0",
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Application]:
    application = build_application(settings, migrate=False)
    application.s3_client.create_bucket(Bucket=settings.s3_bucket)
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
