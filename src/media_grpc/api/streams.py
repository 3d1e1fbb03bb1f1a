"""Bounds on server-streaming RPCs: how many are open at once, how long and how idle each may be.

All counting happens on the event loop (streams run there), so it needs no lock.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

from media_grpc.api.errors import to_status
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
    """Innermost: refuses a stream past ``max_open`` with RESOURCE_EXHAUSTED and RetryInfo,
    and ends a stream normally (status OK) after ``max_seconds``, or after ``idle_seconds``
    without a message. Unary RPCs pass untouched."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.open = 0
        super().__init__()

    def wrap(self, _method: str, handler: Handler) -> Handler:
        if not handler.response_streaming:
            return handler
        return wrap_handler(handler, self._bounded)

    def _admit(self) -> None:
        if self.open >= self.settings.max_open:
            error = ResourceExhausted(
                f"this server already holds {self.settings.max_open} open streams; retry later",
                retry_after_seconds=self.settings.retry_after_seconds,
            )
            raise Abort.from_status(to_status(error))
        self.open += 1
        metrics.OPEN_STREAMS.inc()

    def _release(self) -> None:
        self.open -= 1
        metrics.OPEN_STREAMS.dec()

    def _bounded(self, behaviour: Behaviour) -> Behaviour:
        if inspect.isasyncgenfunction(behaviour):
            return self._bounded_agen(behaviour)
        if inspect.iscoroutinefunction(behaviour):
            return self._bounded_coro(behaviour)
        return behaviour  # a blocking stream holds a thread; nothing on the loop to bound

    def _bounded_agen(self, behaviour: Behaviour) -> Behaviour:
        settings = self.settings

        async def call(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                self._admit()
            except Abort as a:
                await abort_async(context, a)
            try:
                loop = asyncio.get_running_loop()
                end = loop.time() + settings.max_seconds
                stream = behaviour(request, context)
                try:
                    while True:
                        wait = min(settings.idle_seconds, end - loop.time())
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
                self._release()

        return call

    def _bounded_coro(self, behaviour: Behaviour) -> Behaviour:
        settings = self.settings

        async def call(request: Any, context: Any) -> Any:
            try:
                self._admit()
            except Abort as a:
                await abort_async(context, a)
            try:
                async with asyncio.timeout(settings.max_seconds):
                    return await behaviour(request, context)
            except TimeoutError:
                return None
            finally:
                self._release()

        return call
