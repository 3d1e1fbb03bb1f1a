"""Processes started as a user starts them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2_grpc

from media_grpc.config.storage import StorageSettings
from media_grpc.storage_admin.setup import set_up_bucket
from tests import slow_stage_cli
from tests.child_env import clean_env
from tests.ports import free_port
from tests.s3_buckets import client_of, delete_bucket, unique_bucket
from tests.services import strict_s3
from tests.upload_sessions import upload

CLI = str(Path(sys.executable).parent / "media-grpc")


class ServedProcess:
    def __init__(self, process: subprocess.Popen[str], address: str, env: dict[str, str]):
        self.process = process
        self.address = address
        self.env = env

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout


def start_serve(
    env: dict[str, str], argv: list[str] | None = None, *, log_apart: bool = False
) -> ServedProcess:
    """`media-grpc serve` (or ``argv``) with ``env``, once it accepts connections (stop it with
    ``stop``). Its log (stderr) is read from ``process.stderr`` if ``log_apart``, else it is
    mixed into ``process.stdout``."""
    process = subprocess.Popen(
        argv or [CLI, "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if log_apart else subprocess.STDOUT,
        text=True,
        cwd=slow_stage_cli.ROOT,
    )
    address = env["MEDIA_GRPC_LISTEN"]
    deadline = time.monotonic() + 90  # a start (migrations included) on a loaded machine
    # Retried every second at most: the default backoff grows past a minute while it starts.
    quick = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]
    with grpc.insecure_channel(address, options=quick) as channel:
        # One future for the whole wait: each one polls the channel from a thread of its own,
        # which must be done (or cancelled) before the channel closes.
        ready = grpc.channel_ready_future(channel)
        while True:
            try:
                ready.result(timeout=1)
                return ServedProcess(process, address, env)
            except grpc.FutureTimeoutError:
                if process.poll() is not None or time.monotonic() > deadline:
                    ready.cancel()
                    stop(process)
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"media-grpc serve did not come up:\n{output}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def embedded_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of `media-grpc serve` in the embedded default, on free ports, then
    ``settings``."""
    embedded = clean_env(
        MEDIA_DATA_DIR=str(tmp_path / "data"),
        MEDIA_GRPC_LISTEN=f"127.0.0.1:{free_port()}",
        MEDIA_EMBEDDED_S3_PORT=str(free_port()),
        MEDIA_METRICS_PORT=str(free_port()),
    )
    embedded.update(settings)
    return embedded


@contextmanager
def on_strict_s3(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``env`` storing in a bucket of its own on the strict S3, set up as `storage init` does
    (no archive rule: the test store has no archive class), deleted with its objects after."""
    s3 = strict_s3()
    client = client_of(s3)
    bucket = unique_bucket("e2e")
    set_up_bucket(client, bucket, "us-east-1", StorageSettings(archive_after_days=0))
    try:
        yield {
            **env,
            "MEDIA_S3_ENDPOINT_URL": s3.url,
            "MEDIA_S3_ACCESS_KEY_ID": s3.access_key,
            "MEDIA_S3_SECRET_ACCESS_KEY": s3.secret_key,
            "MEDIA_S3_BUCKET": bucket,
            # The start-up storage check has tests of its own; here it only costs start-up CPU.
            "MEDIA_STORAGE__CHECK_ON_STARTUP": "false",
        }
    finally:
        delete_bucket(client, bucket)


@contextmanager
def serving_on_strict_s3(env: dict[str, str]) -> Iterator[ServedProcess]:
    """`media-grpc serve` on ``env`` storing in a bucket of its own on the strict S3
    (:func:`on_strict_s3`); stopped, and the bucket deleted, afterwards."""
    with on_strict_s3(env) as stored_on_strict_s3:
        served = start_serve(stored_on_strict_s3)
        try:
            yield served
        finally:
            stop(served.process)


@pytest.fixture
def strict_s3_server(tmp_path: Path) -> Iterator[ServedProcess]:
    """`media-grpc serve` as in the embedded default (SQLite, in-process worker) but storing on
    the strict S3, on free ports."""
    with serving_on_strict_s3(embedded_env(tmp_path)) as served:
        yield served


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[ServedProcess]:
    """`media-grpc serve` in the embedded default (SQLite, local S3), on free ports."""
    served = start_serve(embedded_env(tmp_path))
    try:
        yield served
    finally:
        stop(served.process)


def upload_single(
    stub: media_pb2_grpc.MediaServiceStub,
    metadata: list[tuple[str, str]],
    data: bytes,
    content_type: str = "image/png",
) -> str:
    """What a client does for a small post image: session, one presigned PUT, completion.
    Returns the media id."""
    return upload(
        stub,
        metadata,
        data,
        content_type=content_type,
        file_name="a." + content_type.rsplit("/", 1)[-1],
    )
