"""Bounds on server-streaming RPCs: how many are open at once, how long and how idle each may be.

All counting happens on the event loop (streams run there), so it needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Any

from media_grpc.api.auth_interceptor import PUBLIC_SERVICES
from media_grpc.api.errors import to_status
from media_grpc.api.stream_budget import StreamBudget, Ticket
from media_grpc.api.wrapping import (
    Abort,
    Behaviour,
    Handler,
    WrappingInterceptor,
    abort_async,
    wrap_handler,
)
from media_grpc.config.streams import StreamSettings
from media_grpc.domain.errors import ResourceExhausted
from media_grpc.observability import metrics


class StreamLimitInterceptor(WrappingInterceptor):
    """Innermost: refuses a stream past its budget (``api/stream_budget.py``) with
    RESOURCE_EXHAUSTED and RetryInfo, and ends a stream normally (status OK) after
    ``max_seconds``, or when it sent nothing for its idle limit (``public_idle_seconds`` for the
    streams anyone may open, ``idle_seconds`` for the others). Unary RPCs pass untouched."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.budget = StreamBudget(settings)
        super().__init__()

    def wrap(self, method: str, handler: Handler) -> Handler:
        if not handler.response_streaming:
            return handler
        public = method.startswith(PUBLIC_SERVICES)
        idle = self.settings.public_idle_seconds if public else self.settings.idle_seconds
        return wrap_handler(handler, lambda behaviour: self._bounded(behaviour, public, idle))

    async def _admit(self, context: Any, public: bool) -> Ticket:
        try:
            ticket = self.budget.admit(public=public, peer=str(context.peer()))
        except ResourceExhausted as e:
            await abort_async(context, Abort.from_status(to_status(e)))
            raise  # abort raises; never reached
        metrics.OPEN_STREAMS.inc()
        return ticket

    def _release(self, ticket: Ticket) -> None:
        self.budget.release(ticket)
        metrics.OPEN_STREAMS.dec()

    def _bounded(self, behaviour: Behaviour, public: bool, idle: float) -> Behaviour:
        if inspect.isasyncgenfunction(behaviour):
            return self._bounded_agen(behaviour, public, idle)
        if inspect.iscoroutinefunction(behaviour):
            return self._bounded_coro(behaviour, public, idle)
        return behaviour  # a blocking stream holds a thread; nothing on the loop to bound

    def _bounded_agen(self, behaviour: Behaviour, public: bool, idle: float) -> Behaviour:
        settings = self.settings

        async def call(request: Any, context: Any) -> AsyncIterator[Any]:
            ticket = await self._admit(context, public)
            try:
                loop = asyncio.get_running_loop()
                end = loop.time() + settings.max_seconds
                stream = behaviour(request, context)
                try:
                    while True:
                        wait = min(idle, end - loop.time())
                        if wait <= 0:
                            return
                        try:
                            async with asyncio.timeout(wait):
                                item = await anext(stream)
                        except (TimeoutError, StopAsyncIteration):
                            return
                        yield item
                finally:
                    await stream.aclose()
            finally:
                self._release(ticket)

        return call

    def _bounded_coro(self, behaviour: Behaviour, public: bool, idle: float) -> Behaviour:
        """A stream that writes through ``context.write`` (health Watch): its writes are seen
        through ``WriteClock``, the behaviour is cancelled when it goes idle or too old."""
        settings = self.settings

        async def call(request: Any, context: Any) -> Any:
            ticket = await self._admit(context, public)
            clock = WriteClock(context)
            task = asyncio.ensure_future(behaviour(request, clock))
            try:
                loop = asyncio.get_running_loop()
                end = loop.time() + settings.max_seconds
                while True:
                    now = loop.time()
                    wait = min(clock.last_write + idle - now, end - now)
                    if wait <= 0:
                        return None
                    done, _ = await asyncio.wait({task}, timeout=wait)
                    if done:
                        return task.result()
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                self._release(ticket)

        return call


class WriteClock:
    """A servicer context that notes when the behaviour last wrote a message; everything else
    is the wrapped context's."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self.last_write = asyncio.get_running_loop().time()

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        self.last_write = asyncio.get_running_loop().time()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)
