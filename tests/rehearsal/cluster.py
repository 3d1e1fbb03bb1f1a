"""The rehearsal's cluster: namespaces, forwarders, a database, a broker prefix, a bucket, and
the four nodes; everything it made is removed on exit, also after a failure."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import grpc
import pika
from botocore.config import Config
from grpc_health.v1 import health_pb2, health_pb2_grpc
from media.v1 import media_pb2_grpc
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from media_grpc.adapters.database import scratch_database
from media_grpc.adapters.rabbitmq_topology import Topology
from media_grpc.config.auth import AuthSettings
from media_grpc.config.pipeline import PipelineSettings
from tests.child_env import clean_env
from tests.rehearsal.forwarder import Forwarders
from tests.rehearsal.network import Lab
from tests.rehearsal.nodes import CLI, Process, start
from tests.services import S3Service, postgres_url, rabbitmq_url, strict_s3
from tests.waiting import eventually

SERVERS = ("s1", "s2")
WORKERS = ("w1", "w2")
#: Per-owner limits small enough to reach in a few calls (they hold across nodes).
LIMITS = {
    "MEDIA_LIMITS__MAX_PENDING_SESSIONS": "4",
    "MEDIA_LIMITS__UPLOAD_SESSION_BURST": "6",
    "MEDIA_LIMITS__UPLOAD_SESSIONS_PER_SECOND": "0.002",
}


@dataclass
class Cluster:
    lab: Lab
    processes: dict[str, Process]
    auth: AuthSettings
    bucket: str
    prefix: str
    node_addresses: set[str] = field(default_factory=set)

    @property
    def service_address(self) -> str:
        return self.lab.service_address

    def targets(self) -> list[str]:
        return [self.processes[name].target for name in SERVERS]

    def stub(self, server: str) -> media_pb2_grpc.MediaServiceStub:
        channel = grpc.insecure_channel(self.processes[server].target)
        return media_pb2_grpc.MediaServiceStub(channel)

    def kill(self, name: str) -> None:
        """Crash the node: SIGKILL its processes, then take it off the network."""
        process = self.processes[name]
        process.kill()
        self.lab.cut(process.node)


def _node_url(url: str, address: str) -> str:
    return make_url(url).set(host=address).render_as_string(hide_password=False)


def _broker_url(url: str, address: str) -> str:
    parsed = urlparse(url)
    netloc = f"{parsed.username}:{parsed.password}@{address}:{parsed.port or 5672}"
    return parsed._replace(netloc=netloc).geturl()


def _environment(
    database: str, broker: str, s3: S3Service, address: str, bucket: str, prefix: str, secret: str
) -> dict[str, str]:
    s3_port = urlparse(s3.url).port or 80
    env = clean_env(
        MEDIA_ENVIRONMENT="production",
        MEDIA_DATABASE_URL=_node_url(database, address),
        MEDIA_BROKER_URL=_broker_url(broker, address),
        MEDIA_BROKER_PREFIX=prefix,
        MEDIA_S3_ENDPOINT_URL=f"http://{address}:{s3_port}",
        MEDIA_S3_ACCESS_KEY_ID=s3.access_key,
        MEDIA_S3_SECRET_ACCESS_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=bucket,
        MEDIA_AUTH__JWT_SECRET=secret,
        MEDIA_METRICS_PORT="0",
        MEDIA_STORAGE__CHECK_ON_STARTUP="false",
        MEDIA_LIFECYCLE__INTERVAL_SECONDS="0",
        **LIMITS,
    )
    return env


def _serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def _forward_ports(*urls: str) -> dict[int, int]:
    ports = {}
    for url, default in zip(urls, (5432, 5672, 80), strict=True):
        port = urlparse(url.replace("+psycopg", "")).port or default
        ports[port] = port
    return ports


@contextlib.contextmanager
def cluster(
    log_dir: Path | None = None,
    servers: tuple[str, ...] = SERVERS,
    workers: tuple[str, ...] = WORKERS,
) -> Iterator[Cluster]:
    """Server nodes and worker nodes (two of each), up and serving; removed on exit."""
    if os.geteuid() != 0:
        raise RuntimeError("the rehearsal needs root (network namespaces and veth pairs)")
    s3 = strict_s3()
    tag = uuid.uuid4().hex[:8]
    bucket, prefix = f"rehearsal-{tag}", f"rehearsal-{tag}"
    secret = secrets.token_urlsafe(48)
    with contextlib.ExitStack() as stack:
        logs = log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server_url = stack.enter_context(postgres_url())
        broker = stack.enter_context(rabbitmq_url())
        database = stack.enter_context(scratch_database(server_url, "media_rehearsal"))
        lab = Lab()
        stack.callback(_remove_lab, lab)
        lab.create([*servers, *workers])
        forwarders = Forwarders(lab.service_address, _forward_ports(database, broker, s3.url))
        stack.callback(forwarders.stop)
        forwarders.start()
        env = _environment(database, broker, s3, lab.service_address, bucket, prefix, secret)
        stack.callback(_delete_bucket, s3, bucket)
        stack.callback(_delete_topology, broker, prefix)
        subprocess.run([CLI, "storage", "init"], env=env, check=True, capture_output=True)
        processes: dict[str, Process] = {}
        stack.callback(_stop_all, processes)
        for name in [*servers, *workers]:
            role = "serve" if name in servers else "worker"
            processes[name] = start(lab.nodes[name], role, env, logs)
        for name in servers:
            eventually(lambda n=name: _serving(processes[n].target), f"{name} serving", 60)  # type: ignore[misc]
        for name in workers:
            eventually(
                lambda n=name: any(
                    "worker consuming" in line.get("message", "")  # type: ignore[misc]
                    for line in processes[n].lines()
                ),
                f"{name} consuming",
                60,
            )
        yield Cluster(
            lab,
            processes,
            AuthSettings(jwt_secret=SecretStr(secret)),
            bucket,
            prefix,
            {node.address for node in lab.nodes.values()},
        )


def _stop_all(processes: dict[str, Process]) -> None:
    for process in processes.values():
        process.stop()


def _remove_lab(lab: Lab) -> None:
    left = lab.remove()
    if left:
        raise RuntimeError(f"rehearsal left behind: {left}")


def _delete_topology(broker: str, prefix: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(broker))
    try:
        delays = tuple(PipelineSettings().retry_delays_seconds)
        Topology(prefix, delays).delete(connection.channel())
    finally:
        connection.close()


def _delete_bucket(s3: S3Service, bucket: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3.url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with contextlib.suppress(client.exceptions.NoSuchBucket):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys: list[Any] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        for uploads in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in uploads.get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        client.delete_bucket(Bucket=bucket)
