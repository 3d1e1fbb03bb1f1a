"""Health and reflection answer without a token, so grpcurl works out of the box."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from sqlalchemy.pool import QueuePool

from media_grpc.bootstrap import Application


def test_reflection_lists_media_service_and_health(channel: grpc.Channel) -> None:
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert "media.v1.MediaService" in services
    assert "grpc.health.v1.Health" in services


def test_reflection_describes_create_upload_session(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    file_desc = database.FindFileContainingSymbol("media.v1.MediaService")
    assert file_desc.name == "media/v1/media.proto"


def test_health_reports_serving_for_the_server_and_media_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "media.v1.MediaService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_database_pool_keeps_a_connection_per_rpc_thread(app: Application) -> None:
    pool = app.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() >= app.settings.grpc_max_workers, (
        f"pool keeps {pool.size()} connections for {app.settings.grpc_max_workers} RPC threads: "
        "overflow connections would be opened and closed on every busy second"
    )
