"""Real parts for benchmarks: a fresh PostgreSQL database, the strict S3 (Ceph's RADOS Gateway of
`make services`, or MEDIA_BENCH_S3_URL) with a bucket of the run's own, and `media-grpc serve`
processes, each started the way an operator starts them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import grpc
from botocore.config import Config

from media_grpc.adapters.database import scratch_database
from tests.ports import free_port
from tests.s3_buckets import delete_bucket
from tests.strict_s3.shared_store import (
    STRICT_S3_ACCESS_KEY,
    STRICT_S3_SECRET_KEY,
    ensure_shared_strict_s3,
    script,
    shared_strict_s3_pids,
)

#: Where the benchmarks find PostgreSQL (a database of their own is created there per run).
DATABASE_URL = os.environ.get(
    "MEDIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Where the benchmarks find RabbitMQ (exchanges and queues under a prefix of the run's own).
BROKER_URL = os.environ.get("MEDIA_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
BIN = Path(sys.executable).parent


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{process.args} did not listen on {port} within {timeout}s")


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process (output to ``log``, or dropped), terminated (then killed) on exit."""
    with open(log or os.devnull, "wb") as out:
        child = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 endpoint, the keys it accepts and the processes serving it on this machine (for
    CPU accounting; empty when they are not known, e.g. a MEDIA_BENCH_S3_URL elsewhere)."""

    url: str
    access_key: str
    secret_key: str
    pids: tuple[int, ...] = ()

    def collect_garbage(self) -> None:
        """Free now what deleted objects hold in the shared strict S3 (memstore keeps them in
        RAM until rgw's garbage collection, 30 s or more later); nothing for another store."""
        if self.pids:
            script("gc", timeout=120)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4"),
        )


def strict_s3() -> S3Endpoint:
    """MEDIA_BENCH_S3_URL (with MEDIA_BENCH_S3_ACCESS_KEY / _SECRET_KEY) when set, else the
    shared strict S3 of `make services` (Ceph's RADOS Gateway), started when it does not answer.
    Never moto: the benchmarks measure what a real S3 costs."""
    url = os.environ.get("MEDIA_BENCH_S3_URL")
    if url:
        return S3Endpoint(
            url,
            os.environ.get("MEDIA_BENCH_S3_ACCESS_KEY", STRICT_S3_ACCESS_KEY),
            os.environ.get("MEDIA_BENCH_S3_SECRET_KEY", STRICT_S3_SECRET_KEY),
        )
    return S3Endpoint(
        ensure_shared_strict_s3(),
        STRICT_S3_ACCESS_KEY,
        STRICT_S3_SECRET_KEY,
        shared_strict_s3_pids(),
    )


@contextmanager
def bucket_of_its_own(s3: S3Endpoint) -> Iterator[str]:
    """A new bucket; emptied (objects and unfinished multipart uploads) and deleted on exit,
    so the shared store does not keep what a run wrote."""
    client, bucket = s3.client(), f"media-bench-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        delete_bucket(client, bucket)
        s3.collect_garbage()


@dataclass
class Stack:
    database_url: str
    s3: S3Endpoint
    bucket: str
    env: dict[str, str]
    exits: ExitStack
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    @property
    def s3_endpoint(self) -> str:
        return self.s3.url

    def add_server(self, extra_env: dict[str, str] | None = None, log: Path | None = None) -> int:
        """One more `media-grpc serve` process on a free port; returns the port."""
        port = free_port()
        env = {**self.env, "MEDIA_GRPC_LISTEN": f"127.0.0.1:{port}", **(extra_env or {})}
        child = self.exits.enter_context(process([str(BIN / "media-grpc"), "serve"], env, log))
        wait_for_port(port, child)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
        self.servers.append(child)
        self.ports.append(port)
        return port

    def add_worker(self, log: Path, extra_env: dict[str, str] | None = None) -> None:
        """A `media-grpc worker` process writing its log to ``log``, consuming once it returns."""
        env = {**self.env, **(extra_env or {})}
        child = self.exits.enter_context(process([str(BIN / "media-grpc"), "worker"], env, log))
        deadline = time.monotonic() + 60
        while "worker consuming" not in log.read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"media-grpc worker did not start:\n{log.read_text()}")
            time.sleep(0.05)

    @property
    def target(self) -> str:
        """A channel target over every server (use with the round_robin policy)."""
        return "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in self.ports)


def server_env(database_url: str, s3: S3Endpoint, bucket: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    env.update(
        MEDIA_ENVIRONMENT="development",
        MEDIA_DATABASE_URL=database_url,
        MEDIA_S3_ENDPOINT_URL=s3.url,
        MEDIA_S3_ACCESS_KEY_ID=s3.access_key,
        MEDIA_S3_SECRET_ACCESS_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=bucket,
        # Its conformance check writes probe objects on every start; the benchmarks measure calls.
        MEDIA_STORAGE__CHECK_ON_STARTUP="false",
        # The per-owner limits stay on (their queries run on every call) but never refuse: the
        # benchmarks measure what calls cost, not the limits.
        MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND="1000000",
        MEDIA_LIMITS__UPLOAD_SESSION_BURST="1000000",
        MEDIA_LIMITS__COMPLETIONS_PER_SECOND="1000000",
        MEDIA_LIMITS__COMPLETION_BURST="1000000",
        MEDIA_LIMITS__PART_URLS_PER_SECOND="1000000",
        MEDIA_LIMITS__PART_URLS_BURST="1000000",
    )
    return env


@contextmanager
def broker_prefix(broker_url: str) -> Iterator[str]:
    """Exchange and queue names of this run's own on the shared RabbitMQ, deleted afterwards."""
    import pika

    from media_grpc.config import Settings
    from media_grpc.pipeline_bootstrap import topology_for

    prefix = f"media-bench-{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        try:
            settings = Settings(broker_url=broker_url, broker_prefix=prefix)
            topology_for(settings).delete(connection.channel())
        finally:
            connection.close()


@contextmanager
def stack(servers: int = 1, *, broker: bool = False) -> Iterator[Stack]:
    """PostgreSQL (fresh database), the strict S3 (a bucket of the run's own) and ``servers``
    `media-grpc serve` processes; with ``broker``, RabbitMQ under a prefix of the run's own (add
    workers with add_worker)."""
    with ExitStack() as exits:
        database_url = exits.enter_context(scratch_database(DATABASE_URL, "media_bench"))
        s3 = strict_s3()
        bucket = exits.enter_context(bucket_of_its_own(s3))
        env = server_env(database_url, s3, bucket)
        if broker:
            env["MEDIA_BROKER_URL"] = BROKER_URL
            env["MEDIA_BROKER_PREFIX"] = exits.enter_context(broker_prefix(BROKER_URL))
        running = Stack(database_url, s3, bucket, env, exits)
        for _ in range(servers):
            running.add_server()
        yield running
