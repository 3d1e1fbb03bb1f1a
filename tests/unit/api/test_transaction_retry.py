"""The server runs a call again when the database went away before the call committed, and
not when it may have committed, unless the method is safe to run twice."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from media_grpc.adapters.database import DatabaseUnavailable
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.api.transaction_retry import TransactionRetryInterceptor

SERVICE = "/media.v1.MediaService/"


class Context:
    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


class FlakyCall:
    """A use case that meets an unavailable database ``failures`` times, after committing a
    unit of work first when ``commit_first``."""

    def __init__(self, sessions: sessionmaker[Session], failures: int, *, commit_first: bool):
        self.sessions = sessions
        self.failures = failures
        self.commit_first = commit_first
        self.runs = 0

    def __call__(self, _request: Any, _context: Any) -> str:
        self.runs += 1
        if self.commit_first:
            with SqlAlchemyUnitOfWork(self.sessions) as uow:
                uow.commit()
        if self.runs <= self.failures:
            raise DatabaseUnavailable()
        return "answer"


def retrying(method: str, call: FlakyCall) -> Any:
    slept: list[float] = []
    interceptor = TransactionRetryInterceptor(sleep=slept.append)
    wrapped = interceptor._retrying(SERVICE + method, call)
    wrapped.slept = slept  # type: ignore[attr-defined]
    return wrapped


def test_a_call_that_committed_nothing_runs_again_with_growing_backoff(
    sessions: sessionmaker[Session],
) -> None:
    call = FlakyCall(sessions, 4, commit_first=False)
    wrapped = retrying("RetryProcessing", call)
    assert wrapped(SimpleNamespace(), Context(30.0)) == "answer"
    assert call.runs == 5
    assert wrapped.slept == [0.05, 0.1, 0.2, 0.4]


def test_a_call_that_may_have_committed_is_not_run_again(
    sessions: sessionmaker[Session],
) -> None:
    call = FlakyCall(sessions, 1, commit_first=True)
    with pytest.raises(DatabaseUnavailable):
        retrying("RetryProcessing", call)(SimpleNamespace(), Context(30.0))
    assert call.runs == 1


def test_create_upload_session_with_an_idempotency_key_runs_again_after_a_commit(
    sessions: sessionmaker[Session],
) -> None:
    keyed = FlakyCall(sessions, 1, commit_first=True)
    answer = retrying("CreateUploadSession", keyed)(
        SimpleNamespace(idempotency_key="k-1"), Context(30.0)
    )
    assert (answer, keyed.runs) == ("answer", 2)
    unkeyed = FlakyCall(sessions, 1, commit_first=True)
    with pytest.raises(DatabaseUnavailable):
        retrying("CreateUploadSession", unkeyed)(SimpleNamespace(idempotency_key=""), None)
    assert unkeyed.runs == 1


def test_complete_upload_runs_again_after_a_commit(sessions: sessionmaker[Session]) -> None:
    call = FlakyCall(sessions, 2, commit_first=True)
    assert retrying("CompleteUpload", call)(SimpleNamespace(), Context(30.0)) == "answer"
    assert call.runs == 3


def test_no_run_is_started_past_the_client_deadline(sessions: sessionmaker[Session]) -> None:
    call = FlakyCall(sessions, 1000, commit_first=False)
    wrapped = retrying("GetMedia", call)  # no time left: the first failure is the answer
    with pytest.raises(DatabaseUnavailable):
        wrapped(SimpleNamespace(), Context(0.0))
    assert call.runs == 1
