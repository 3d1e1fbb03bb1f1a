"""Running a call again when the database went away under it, inside the call's deadline.

A restart of PostgreSQL, or a dropped connection, fails the calls in flight with
``DatabaseUnavailable``. A call runs again, after a backoff, when that is safe:

- no unit of work of the call began to commit: nothing of it was written (a read never
  commits), so running it again is running it for the first time; or
- the method answers a second run as it answered the first and writes nothing more
  (``SAFE_AFTER_COMMIT``), e.g. CompleteUpload, idempotent by media id.

Anything else (a commit that may have gone through, for a method whose second run would act
twice or answer otherwise) ends UNAVAILABLE as before: the client decides. Only the unary
calls, which run in a thread, are retried; streams have their own recovery (the change feed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.adapters.unit_of_work import counting_commits
from media_grpc.api.wrapping import Behaviour, Handler, WrappingInterceptor, is_async, wrap_handler

log = logging.getLogger(__name__)

_SERVICE = "/media.v1.MediaService/"

#: Methods whose second run is safe even if the first committed, and when (by the request).
SAFE_AFTER_COMMIT: dict[str, Callable[[Any], bool]] = {
    # The same key with the same parameters returns the same session.
    _SERVICE + "CreateUploadSession": lambda request: bool(request.idempotency_key),
    # Idempotent by media id.
    _SERVICE + "CompleteUpload": lambda _request: True,
    # Attaching the same list again changes nothing.
    _SERVICE + "AttachMedia": lambda _request: True,
    # Deleting twice succeeds.
    _SERVICE + "DeleteMedia": lambda _request: True,
    # Idempotent per idempotency key (default: the URL).
    _SERVICE + "ImportMedia": lambda _request: True,
}

#: Longest time, in seconds, a call is retried when the client set no deadline (a database
#: restart under 5 s is hidden from clients).
RETRY_WITHIN_SECONDS = 10.0
#: First wait, in seconds, before running a call again; it doubles up to ``MAX_BACKOFF``.
FIRST_BACKOFF = 0.05
#: Longest wait, in seconds, between two runs of a call.
MAX_BACKOFF = 0.5
#: Seconds of the client's deadline kept for the answer to travel back.
DEADLINE_MARGIN = 0.2


class TransactionRetryInterceptor(WrappingInterceptor):
    """Runs a unary call again while the database is unavailable and a second run is safe.

    Sits innermost, so that the other interceptors see one call and its final outcome.
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.sleep = sleep

    def wrap(self, method: str, handler: Handler) -> Handler:
        if not method.startswith(_SERVICE) or handler.unary_unary is None:
            return handler
        if is_async(handler.unary_unary):
            return handler
        return wrap_handler(handler, lambda b: self._retrying(method, b))

    def _retrying(self, method: str, behaviour: Behaviour) -> Behaviour:
        safe_after_commit = SAFE_AFTER_COMMIT.get(method, lambda _request: False)

        def call(request: Any, context: Any) -> Any:
            give_up_at = time.monotonic() + _retry_window(context)
            backoff = FIRST_BACKOFF
            attempt = 1
            while True:
                with counting_commits() as commits:
                    try:
                        return behaviour(request, context)
                    except DatabaseUnavailable:
                        may_have_written = commits.started > 0
                        if may_have_written and not safe_after_commit(request):
                            raise
                        if time.monotonic() + backoff > give_up_at:
                            raise
                log.info(
                    "database unavailable in %s (run %d); running it again in %.2f s",
                    method.rsplit("/", 1)[-1],
                    attempt,
                    backoff,
                )
                self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                attempt += 1

        return call


def _retry_window(context: Any) -> float:
    """Seconds left for runs of this call: the client's deadline (less a margin) or, without
    one, ``RETRY_WITHIN_SECONDS``."""
    remaining: float | None = context.time_remaining() if context is not None else None
    if remaining is None:
        return RETRY_WITHIN_SECONDS
    return min(RETRY_WITHIN_SECONDS, remaining - DEADLINE_MARGIN)
