"""Fault tests: real `media-grpc serve` processes against PostgreSQL and the strict S3, with faults
injected from outside (backends terminated, signals, a misbehaving S3 proxy in front of the
strict S3: it forwards the Host header as sent, so signatures made for the proxy hold)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.adapters.database import scratch_database
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings
from tests.faults.private_postgres import PrivatePostgres, private_postgres
from tests.faults.proxy import FaultyS3Proxy
from tests.faults.report import REPORT, FaultReport
from tests.ports import free_port
from tests.s3_buckets import client_of, delete_bucket, unique_bucket
from tests.services import S3Service, postgres_url

CLI = str(Path(sys.executable).parent / "media-grpc")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120


@pytest.fixture(scope="session")
def fault_report() -> FaultReport:
    """Where each fault test records its counts; printed as one table at the end."""
    return REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT.counts:
        terminalreporter.write_sep("-", "fault counts")
        terminalreporter.write_line(REPORT.table())


@pytest.fixture(scope="module")
def fault_database() -> Iterator[str]:
    """A database of this module's own (faults terminate its connections), migrated."""
    with postgres_url() as server_url, scratch_database(server_url, "media_faults") as url:
        yield url


@pytest.fixture(scope="module")
def restartable_database() -> Iterator[tuple[PrivatePostgres, str]]:
    """(server, URL of a migrated database on it): a PostgreSQL server of this module's own,
    which its tests restart; the machine's shared one is never touched."""
    with (
        private_postgres(free_port()) as server,
        scratch_database(server.url, "media_faults") as url,
    ):
        yield server, url


@pytest.fixture
def s3_proxy(s3: S3Service) -> Iterator[FaultyS3Proxy]:  # noqa: F811
    proxy = FaultyS3Proxy(s3.url).start()
    yield proxy
    proxy.stop()


@dataclass
class Served:
    """A `media-grpc serve` process and a client of it."""

    process: subprocess.Popen[str]
    address: str
    channel: grpc.Channel
    stub: media_pb2_grpc.MediaServiceStub
    bucket: str
    auth: Callable[[str], list[tuple[str, str]]]
    output: list[str] = field(default_factory=list)

    def create(
        self, user: str, timeout: float = 30, idempotency_key: str = "", size: int = len(PNG)
    ) -> pb.CreateUploadSessionResponse:
        request = pb.CreateUploadSessionRequest(
            purpose=pb.PURPOSE_POST_IMAGE,
            file_name="fault.png",
            content_type="image/png",
            size_bytes=size,
            idempotency_key=idempotency_key,
        )
        answer: pb.CreateUploadSessionResponse = self.stub.CreateUploadSession(
            request, metadata=self.auth(user), timeout=timeout
        )
        return answer

    def uploaded_session(self, user: str, data: bytes = PNG) -> str:
        """A session whose bytes are in storage, ready to complete; returns the media id."""
        session = self.create(user, size=len(data))
        requests.put(
            session.single_put.url,
            data=data,
            headers=dict(session.single_put.headers),
            timeout=30,
        ).raise_for_status()
        return session.media_id

    def complete(self, user: str, media_id: str, timeout: float = 60) -> pb.Media:
        answer = self.stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=media_id), metadata=self.auth(user), timeout=timeout
        )
        return answer.media


def _wait_until_serving(process: subprocess.Popen[str], address: str) -> None:
    deadline = time.monotonic() + 90  # a loaded machine (CI) starts Python slowly
    with grpc.insecure_channel(address) as channel:
        ready = grpc.channel_ready_future(channel)  # one for the whole wait (tests/e2e/conftest.py)
        while True:
            try:
                ready.result(timeout=1)
                return
            except grpc.FutureTimeoutError:
                if process.poll() is not None or time.monotonic() > deadline:
                    ready.cancel()
                    process.kill()  # so that reading its output ends
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"media-grpc serve did not come up:\n{output}")


@pytest.fixture
def serve(
    fault_database: str,
    s3: S3Service,  # noqa: F811
    s3_proxy: FaultyS3Proxy,
) -> Iterator[Callable[..., Served]]:
    """``serve(*args)`` starts `media-grpc serve` against the database and the S3 proxy."""
    started: list[Served] = []
    auth_settings = AuthSettings()

    def start(*args: str, env: dict[str, str] | None = None, address: str | None = None) -> Served:
        """``env`` overrides the variables set here (e.g. another database, a broker);
        ``address`` binds that one (a restart on the same address)."""
        bucket = unique_bucket("media-faults")
        client_of(s3).create_bucket(Bucket=bucket)
        address = address or f"127.0.0.1:{free_port()}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
        environment.update(
            MEDIA_GRPC_LISTEN=address,
            MEDIA_DATABASE_URL=fault_database,
            MEDIA_S3_ENDPOINT_URL=s3_proxy.endpoint,
            MEDIA_S3_ACCESS_KEY_ID=s3.access_key,
            MEDIA_S3_SECRET_ACCESS_KEY=s3.secret_key,
            MEDIA_S3_BUCKET=bucket,
            # The faults here are not about per-owner limits: one owner calls in a loop.
            MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND="100000",
            MEDIA_LIMITS__UPLOAD_SESSION_BURST="100000",
            MEDIA_LIMITS__MAX_PENDING_SESSIONS="0",
            MEDIA_LIMITS__COMPLETIONS_PER_SECOND="100000",
            MEDIA_LIMITS__COMPLETION_BURST="100000",
        )
        environment.update(env or {})
        process = subprocess.Popen(
            [CLI, "serve", *args],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _wait_until_serving(process, address)
        channel = grpc.insecure_channel(address)
        served = Served(
            process=process,
            address=address,
            channel=channel,
            stub=media_pb2_grpc.MediaServiceStub(channel),
            bucket=bucket,
            auth=lambda user: [("authorization", f"Bearer {issue_token(auth_settings, user)}")],
        )
        threading.Thread(target=_drain, args=(served,), daemon=True).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.channel.close()
        if served.process.poll() is None:
            served.process.terminate()
            try:
                served.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                served.process.kill()
        delete_bucket(client_of(s3), served.bucket)


def _drain(served: Served) -> None:
    """Keep the server's output (its pipe must not fill up), for failure messages."""
    assert served.process.stdout is not None
    for line in served.process.stdout:
        served.output.append(line)


# The pipeline faults run on the integration fixtures: a database and a RabbitMQ prefix of the
# test's own, the run's bucket on the strict S3.
from tests.integration.conftest import (  # noqa: E402, F401
    app,
    database_template,
    database_url,
    own_database_url,
    run_bucket,
    s3,
    s3_admin,
    s3_endpoint,
    settings,
)
from tests.integration.pipeline.conftest import (  # noqa: E402, F401
    broker_url,
    make_app,
    pipeline_app,
    pipeline_settings,
)
