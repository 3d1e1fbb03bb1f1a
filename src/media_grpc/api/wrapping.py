"""Wrapping a handler's behaviour, the same way for unary and server-streaming methods."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeAlias

import grpc

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Behaviour = Callable[[Any, grpc.ServicerContext], Any]


def wrap_handler(handler: Handler, around: Callable[[Behaviour], Behaviour]) -> Handler:
    """A handler whose unary or server-streaming behaviour goes through ``around``."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            around(handler.unary_unary), handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            around(handler.unary_stream), handler.request_deserializer, handler.response_serializer
        )
    return handler


class AroundInterceptor(grpc.ServerInterceptor, abc.ABC):
    """Runs every (non-skipped) RPC's behaviour inside ``around(method, request, context)``.

    For server-streaming RPCs the context manager stays open until the stream ends.
    """

    #: Method-name prefixes left alone.
    skip: tuple[str, ...] = ()

    @abc.abstractmethod
    def around(
        self, method: str, request: Any, context: grpc.ServicerContext
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
        streaming = bool(handler.unary_stream)

        def wrap(behaviour: Behaviour) -> Behaviour:
            if streaming:

                def call_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    with self.around(method, request, context):
                        yield from behaviour(request, context)

                return call_stream

            def call(request: Any, context: grpc.ServicerContext) -> Any:
                with self.around(method, request, context):
                    return behaviour(request, context)

            return call

        return wrap_handler(handler, wrap)
