"""Building the gRPC server: MediaService, health, reflection, interceptors."""

from __future__ import annotations

import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from media.v1 import media_pb2, media_pb2_grpc

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.api.auth_interceptor import AuthInterceptor
from media_grpc.api.errors import ErrorInterceptor
from media_grpc.api.observing import ObservingInterceptor, UploadMetricsInterceptor
from media_grpc.api.servicer import MediaServicer

SERVICE_NAME = media_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name


class RunningServer:
    """A started server, the port it bound and its health servicer."""

    def __init__(self, server: grpc.Server, port: int, health_servicer: health.HealthServicer):
        self.server = server
        self.port = port
        self.health = health_servicer

    def stop(self, grace: float | None = 5.0, *, drain: float = 0.0) -> None:
        """Report NOT_SERVING, then let in-flight RPCs finish within ``grace`` seconds.

        ``drain`` seconds pass between the two, still taking new RPCs, so that load balancers
        probing health see NOT_SERVING and stop sending calls before the server refuses them.
        """
        self.health.enter_graceful_shutdown()
        if drain > 0:
            time.sleep(drain)
        self.server.stop(grace).wait()


def create_server(
    servicer: MediaServicer,
    verifier: TokenVerifier,
    address: str,
    *,
    max_workers: int = 32,
    credentials: grpc.ServerCredentials | None = None,
    reuse_port: bool = False,
) -> RunningServer:
    """Bind and start. Port 0 picks a free port. SO_REUSEPORT is off, so ports are never
    shared, unless ``reuse_port``: then server processes started alike share the port and
    the kernel spreads connections over them (commands/serve.py, MEDIA_GRPC_PROCESSES).

    With ``credentials`` (api/tls.py) the port speaks TLS only.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[
            ObservingInterceptor(),
            AuthInterceptor(verifier),
            ErrorInterceptor(),
            UploadMetricsInterceptor(),
        ],
        options=[("grpc.so_reuseport", 1 if reuse_port else 0)],
    )
    media_pb2_grpc.add_MediaServiceServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = (
        server.add_secure_port(address, credentials)
        if credentials is not None
        else server.add_insecure_port(address)
    )
    if port == 0:
        raise OSError(f"could not bind gRPC address {address}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer)
