"""A unary call with the client's token and timeout; a refusal becomes a ClientError."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import grpc

from media_grpc.client.media_client import ClientError

if TYPE_CHECKING:
    from media_grpc.client.media_client import MediaClient

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def call(
    client: MediaClient, method: grpc.UnaryUnaryMultiCallable[Req, Resp], request: Req
) -> Resp:
    try:
        return method(request, metadata=client.metadata(), timeout=client.timeout)
    except grpc.RpcError as e:
        code = e.code()  # type: ignore[attr-defined]
        raise ClientError(f"{code.name}: {e.details()}", code) from e  # type: ignore[attr-defined]
