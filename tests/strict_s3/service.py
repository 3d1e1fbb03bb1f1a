"""The whole service against a strict S3: a bucket set up by `storage init`'s own code, an
Application on a PostgreSQL database, its in-process worker and a real gRPC server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from media.v1 import media_pb2_grpc

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.bootstrap import Application, build_application, build_storage_client
from media_grpc.config import Settings
from media_grpc.config.pipeline import PipelineSettings
from media_grpc.config.storage import StorageSettings
from media_grpc.pipeline_bootstrap import Pipeline, build_pipeline
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.runtime.serving import start_pipeline
from media_grpc.storage_admin.setup import set_up_bucket
from tests.generous_limits import generous_limits
from tests.s3_buckets import delete_bucket
from tests.services import S3Service

#: The browser origin `storage init` allows (CORS) in these tests.
ALLOWED_ORIGIN = "https://app.strict-s3.test"

Metadata = list[tuple[str, str]]


@dataclass
class RunningService:
    """What a test talks to: the server (``stub``), the Application behind it, the bucket."""

    app: Application
    stub: media_pb2_grpc.MediaServiceStub
    pipeline: Pipeline
    #: One line per step of `storage init` (set_up_bucket), as the command prints them.
    init_lines: list[str]

    @property
    def bucket(self) -> str:
        return self.app.settings.s3_bucket

    @property
    def s3(self) -> Any:
        """The service's own boto3 client (its credentials): what an operator's tools see."""
        return self.app.s3_client

    def auth(self, subject: str, role: str | None = None) -> Metadata:
        token = issue_token(self.app.settings.auth, subject, role=role)
        return [("authorization", f"Bearer {token}")]


def strict_settings(
    s3: S3Service, database_url: str, storage: StorageSettings | None = None
) -> Settings:
    """Settings against ``s3`` with a new bucket; short retry delays, limits that never refuse
    (they have tests of their own)."""
    return Settings(
        environment="development",
        database_url=database_url,
        s3_endpoint_url=s3.url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,  # type: ignore[arg-type]
        s3_bucket=f"media-strict-{uuid.uuid4().hex[:10]}",
        grpc_listen="127.0.0.1:0",
        storage=storage or StorageSettings(cors_allowed_origins=[ALLOWED_ORIGIN]),
        pipeline=PipelineSettings(
            retry_delays_seconds=[0.2, 0.4],
            worker_threads=1,
            relay_poll_interval_seconds=0.05,
            stop_grace_seconds=5,
        ),
        limits=generous_limits(),
    )


@contextmanager
def running_service(settings: Settings) -> Iterator[RunningService]:
    """`storage init` on the settings' bucket, then the service on it: server, relay and
    in-process worker. Everything is stopped and the bucket deleted on exit."""
    client = build_storage_client(settings)
    init_lines = set_up_bucket(client, settings.s3_bucket, settings.s3_region, settings.storage)
    app = build_application(settings, migrate=False)
    pipeline = build_pipeline(app)
    runtime = ProcessRuntime("strict-s3 test service")
    start_pipeline(runtime, pipeline)
    server = app.serve("127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield RunningService(
                app, media_pb2_grpc.MediaServiceStub(channel), pipeline, init_lines
            )
    finally:
        server.stop(1)
        runtime.stop()
        app.close()
        delete_bucket(client, settings.s3_bucket)


Auth = Callable[..., Metadata]
