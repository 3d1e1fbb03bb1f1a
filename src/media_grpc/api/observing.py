"""What operators see of each RPC: a request id, one log line, RPC metrics, upload counters."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from contextlib import AbstractContextManager
from typing import Any

import grpc
import grpc.aio
from media.v1 import media_pb2

from media_grpc.api.wrapping import (
    AroundInterceptor,
    Behaviour,
    Handler,
    WrappingInterceptor,
    end_outcome,
    is_async,
    start_outcome,
    wrap_handler,
)
from media_grpc.domain import errors
from media_grpc.observability import metrics
from media_grpc.observability.logs import bound

log = logging.getLogger("media_grpc.rpc")

#: Metadata key a caller (or gateway) sets to correlate logs; generated when absent.
REQUEST_ID_KEY = "x-request-id"
#: Methods left out of the log (health probes would drown the rest); still counted.
QUIET_PREFIXES = ("/grpc.health.v1.Health/",)


#: Generated request ids: a random prefix per process and a counter (no system call per RPC;
#: 32 hex characters, as a uuid4 hex was). Server processes are spawned, never forked.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _request_id(context: Any) -> str:
    for key, value in context.invocation_metadata():
        if key == REQUEST_ID_KEY and value:
            return str(value)[:128]
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def _code_name(context: Any, recorded: list[grpc.StatusCode], exc: Any) -> str:
    if recorded:
        return recorded[-1].name
    if isinstance(exc, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if exc is not None else "OK"


class ObservingInterceptor(AroundInterceptor):
    """Outermost: binds request_id / method / media_id to the logs, then one line and the RPC
    metrics per call, with the final status code (what the client sees)."""

    def around(self, method: str, request: Any, context: Any) -> AbstractContextManager[None]:
        return _Observation(method, request, context, method.startswith(QUIET_PREFIXES))


class _Observation:
    """The context manager around one RPC (a class, so that a generator can hold it open)."""

    def __init__(self, method: str, request: Any, context: Any, quiet: bool) -> None:
        self.method = method
        self.context = context
        self.quiet = quiet
        self.fields = bound(
            request_id=_request_id(context),
            method=method,
            media_id=str(getattr(request, "media_id", "") or ""),
        )

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        self.recorded, self.token = start_outcome()
        self.fields.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        elapsed = time.perf_counter() - self.started
        end_outcome(self.token)
        code = _code_name(self.context, self.recorded, exc)
        short = self.method.rsplit("/", 1)[-1]
        metrics.RPC_REQUESTS.labels(short, code).inc()
        metrics.RPC_DURATION.labels(short).observe(elapsed)
        if not self.quiet:
            level = logging.WARNING if code in ("INTERNAL", "UNKNOWN") else logging.INFO
            log.log(level, "rpc", extra={"code": code, "duration_ms": round(elapsed * 1000, 2)})
        self.fields.__exit__(exc_type, exc, tb)


class UploadMetricsInterceptor(WrappingInterceptor):
    """Innermost: counts upload sessions from the service's own answers, and verification
    failures from the domain error (before it becomes a status). Completions are counted by
    the service, which alone knows whether a call made the transition or repeated one."""

    def wrap(self, full_method: str, handler: Handler) -> Handler:
        method = full_method.rsplit("/", 1)[-1]
        if method not in ("CreateUploadSession", "CompleteUpload"):
            return handler
        if handler.unary_unary is None or is_async(handler.unary_unary):
            return handler  # the counting below reads a sync unary's answer

        def around(behaviour: Behaviour) -> Behaviour:
            def unary(request: Any, context: Any) -> Any:
                try:
                    response = behaviour(request, context)
                except errors.VerificationFailed as e:
                    metrics.VERIFICATION_FAILURES.labels(e.reason).inc()
                    metrics.UPLOADS_FAILED.labels(e.reason).inc()
                    raise
                if method == "CreateUploadSession":
                    mode = (
                        "deduplicated"
                        if response.deduplicated
                        else "multipart"
                        if response.HasField("multipart")
                        else "single"
                    )
                    purpose = media_pb2.Purpose.Name(request.purpose).removeprefix("PURPOSE_")
                    metrics.UPLOAD_SESSIONS_CREATED.labels(purpose, mode).inc()
                return response

            return unary

        return wrap_handler(handler, around)
