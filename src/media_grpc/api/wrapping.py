"""Wrapping a handler's behaviour, the same way for unary and server-streaming methods."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeAlias

import grpc

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class AroundInterceptor(grpc.ServerInterceptor, abc.ABC):
    """Runs every (non-skipped) RPC's behaviour inside ``around(method, context)``.

    For server-streaming RPCs the context manager stays open until the stream ends.
    """

    #: Method-name prefixes left alone.
    skip: tuple[str, ...] = ()

    @abc.abstractmethod
    def around(
        self, method: str, context: grpc.ServicerContext
    ) -> AbstractContextManager[None]: ...

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(self.skip):
            return handler
        if handler.unary_unary:
            unary = handler.unary_unary

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                with self.around(method, context):
                    return unary(request, context)

            return grpc.unary_unary_rpc_method_handler(
                call, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            stream = handler.unary_stream

            def call_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                with self.around(method, context):
                    yield from stream(request, context)

            return grpc.unary_stream_rpc_method_handler(
                call_stream, handler.request_deserializer, handler.response_serializer
            )
        return handler
