"""Wrapping a handler's behaviour on the grpc.aio server, keeping what kind of callable it is.

grpc.aio runs a plain function (or generator) in its migration thread pool and a coroutine
(or async generator) on the event loop. A wrapper must keep that kind: wrapping health's
non-blocking ``Watch`` coroutine into a plain function would make every open stream hold a
thread. ``wrap_handler`` therefore builds a sync wrapper for a sync behaviour and an async
wrapper for an async one.

Streaming handlers must be async: grpc.aio hands a sync generator the loop's context, whose
``abort`` is a coroutine that a thread cannot await.
"""

from __future__ import annotations

import abc
import contextvars
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeAlias

import grpc
import grpc.aio

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Behaviour = Callable[[Any, Any], Any]
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"


#: The status code an RPC was ended with, recorded where it aborts (the migration thread's
#: context object cannot tell it afterwards).
_outcome: contextvars.ContextVar[list[grpc.StatusCode]] = contextvars.ContextVar("rpc_outcome")


def start_outcome() -> tuple[list[grpc.StatusCode], contextvars.Token[list[grpc.StatusCode]]]:
    """A cell that will hold the code of the RPC being handled, if it aborts through ``Abort``."""
    cell: list[grpc.StatusCode] = []
    return cell, _outcome.set(cell)


def end_outcome(token: contextvars.Token[list[grpc.StatusCode]]) -> None:
    _outcome.reset(token)


def _record(code: grpc.StatusCode) -> None:
    cell = _outcome.get(None)
    if cell is not None:
        cell.append(code)


class Abort(Exception):
    """Raised inside an ``around`` to end the RPC with this status.

    The wrapper turns it into ``context.abort`` (awaited on the event loop, called in a thread),
    so an interceptor need not know which kind of handler it wraps.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata)

    @classmethod
    def from_status(cls, status: grpc.Status) -> Abort:
        return cls(status.code, status.details, status.trailing_metadata)


def wrap_handler(handler: Handler, around: Callable[[Behaviour], Behaviour]) -> Handler:
    """A handler whose behaviour goes through ``around`` (which keeps sync or async)."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            around(handler.unary_unary), handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            around(handler.unary_stream), handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(
            around(handler.stream_stream),
            handler.request_deserializer,
            handler.response_serializer,
        )
    return handler


def behaviour_of(handler: Handler) -> Behaviour | None:
    return handler.unary_unary or handler.unary_stream or handler.stream_stream or None


def is_async(behaviour: Behaviour) -> bool:
    return inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)


def _abort_sync(context: Any, abort: Abort) -> None:
    _record(abort.code)
    context.abort(abort.code, abort.details)  # raises


async def abort_async(context: Any, abort: Abort) -> None:
    _record(abort.code)
    await context.abort(abort.code, abort.details, abort.trailing_metadata)


def _set_trailers(context: Any, abort: Abort) -> None:
    if abort.trailing_metadata:
        context.set_trailing_metadata(abort.trailing_metadata)


def around_behaviour(
    behaviour: Behaviour, enter: Callable[[Any, Any], AbstractContextManager[None]]
) -> Behaviour:
    """``behaviour`` run inside ``enter(request, context)``, of the same kind as ``behaviour``.

    For streams the context manager stays open until the stream ends.
    """
    if inspect.isasyncgenfunction(behaviour):

        async def call_agen(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                with enter(request, context):
                    async for item in behaviour(request, context):
                        yield item
            except Abort as a:
                await abort_async(context, a)

        return call_agen
    if inspect.iscoroutinefunction(behaviour):

        async def call_coro(request: Any, context: Any) -> Any:
            try:
                with enter(request, context):
                    return await behaviour(request, context)
            except Abort as a:
                await abort_async(context, a)

        return call_coro
    if inspect.isgeneratorfunction(behaviour):

        def call_gen(request: Any, context: Any) -> Iterator[Any]:
            try:
                with enter(request, context):
                    yield from behaviour(request, context)
            except Abort as a:
                _set_trailers(context, a)
                _abort_sync(context, a)

        return call_gen

    def call(request: Any, context: Any) -> Any:
        try:
            with enter(request, context):
                return behaviour(request, context)
        except Abort as a:
            _set_trailers(context, a)
            _abort_sync(context, a)

    return call


class WrappingInterceptor(grpc.aio.ServerInterceptor, abc.ABC):
    """An interceptor that wraps each method's handler once, on the method's first call, and
    reuses the wrapped handler after.

    What the interceptors here wrap depends on the method alone, and the handler a
    continuation returns for a method is the same object on every call (the server's
    registered handler, or an inner interceptor's own cached one). Wrapping per call (new
    closures, a new RpcMethodHandler, ``inspect`` of the behaviour) cost more CPU than the
    wrappers' work. A handler other than the cached one is wrapped again; methods without a
    handler are not kept, so unknown method names never grow the cache. Only the event loop
    calls it: no lock.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[Handler, Handler]] = {}

    @abc.abstractmethod
    def wrap(self, method: str, handler: Handler) -> Handler:
        """``handler`` of ``method`` (the full name) as this interceptor serves it."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._handlers.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap(method, handler)
        self._handlers[method] = (handler, wrapped)
        return wrapped


class AroundInterceptor(WrappingInterceptor):
    """Runs every (non-skipped) RPC's behaviour inside ``around(method, request, context)``.

    ``around`` may raise ``Abort`` to end the call with a status; it must not block, since it
    also runs on the event loop for streaming handlers.
    """

    #: Method-name prefixes left alone.
    skip: tuple[str, ...] = ()

    @abc.abstractmethod
    def around(self, method: str, request: Any, context: Any) -> AbstractContextManager[None]: ...

    def wrap(self, method: str, handler: Handler) -> Handler:
        if method.startswith(self.skip):
            return handler

        def enter(request: Any, context: Any) -> AbstractContextManager[None]:
            return self.around(method, request, context)

        return wrap_handler(handler, lambda behaviour: around_behaviour(behaviour, enter))
