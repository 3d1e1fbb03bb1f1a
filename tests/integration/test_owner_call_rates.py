"""Per-owner call rates in the database: the same arithmetic on PostgreSQL and SQLite as the
in-memory buckets, one autocommitted statement per call; a database that is down makes the
rated calls UNAVAILABLE, as any other call."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy.engine import make_url

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.owner_call_rates import (
    AbstractCallRates,
    InMemoryCallRates,
    SqlAlchemyCallRates,
    Take,
)
from media_grpc.adapters.unit_of_work import SqlAlchemyUnitOfWork
from media_grpc.bootstrap import build_application
from media_grpc.config import Settings
from media_grpc.config.limits import LimitSettings
from media_grpc.domain.errors import ResourceExhausted, Unavailable
from media_grpc.domain.model import Failure, FailureReason, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.owner_rates import OwnerRates
from media_grpc.service.retry_processing import ProcessingRetries
from tests.fakes import InMemoryBlobStorage
from tests.integration.tcp_proxy import TcpProxy
from tests.media_records import make_media

CALL = "CompleteUpload"


@pytest.fixture(params=["postgresql", "sqlite", "memory"])
def rates(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AbstractCallRates]:
    if request.param == "memory":
        yield InMemoryCallRates()
        return
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
        upgrade_to_head(engine)
    else:
        engine = build_engine(request.getfixturevalue("database_url"))
    yield SqlAlchemyCallRates(engine)
    engine.dispose()


def take(rates: AbstractCallRates, owner: str, now: float, call: str = CALL) -> Take:
    return rates.take(owner, call, now, 2.0, 3)


def test_a_bucket_starts_full_refills_at_the_rate_and_never_beyond_the_burst(
    rates: AbstractCallRates, unique_user: str
) -> None:
    assert [take(rates, unique_user, 100.0) for _ in range(3)] == [
        Take(True, 2.0),
        Take(True, 1.0),
        Take(True, 0.0),
    ]
    assert take(rates, unique_user, 100.25) == Take(False, 0.5)  # kept, never below zero
    assert take(rates, unique_user, 100.5) == Take(True, 0.0)
    assert take(rates, unique_user, 10_000.0) == Take(True, 2.0)


def test_each_call_has_its_own_bucket_per_owner(rates: AbstractCallRates, unique_user: str) -> None:
    for _ in range(3):
        take(rates, unique_user, 100.0)
    assert not take(rates, unique_user, 100.0).admitted
    assert take(rates, unique_user, 100.0, "GetUploadPartUrls") == Take(True, 2.0)
    assert take(rates, unique_user + "-other", 100.0) == Take(True, 2.0)


def test_an_earlier_clock_refills_nothing(rates: AbstractCallRates, unique_user: str) -> None:
    assert take(rates, unique_user, 100.0) == Take(True, 2.0)
    assert take(rates, unique_user, 40.0) == Take(True, 1.0)  # nothing added, 100 stays
    assert take(rates, unique_user, 100.5) == Take(True, 1.0)  # one token added since 100


def test_a_database_that_is_down_is_unavailable(unique_user: str) -> None:
    engine = build_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(Unavailable):
            SqlAlchemyCallRates(engine).take(unique_user, CALL, 100.0, 2.0, 3)
    finally:
        engine.dispose()


def test_rated_calls_are_unavailable_like_any_other_while_the_database_is_down(
    settings: Settings, auth: Callable[..., list[tuple[str, str]]], unique_user: str
) -> None:
    database = make_url(str(settings.database_url))
    proxy = TcpProxy((database.host or "127.0.0.1", database.port or 5432))
    proxied = database.set(host="127.0.0.1", port=proxy.port)
    proxy.start()
    application = build_application(
        settings.model_copy(update={"database_url": proxied.render_as_string(hide_password=False)}),
        migrate=False,
    )
    running = application.serve("127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            metadata = auth(unique_user)
            media_id = str(uuid.uuid4())
            calls = {
                "CompleteUpload": lambda: stub.CompleteUpload(
                    pb.CompleteUploadRequest(media_id=media_id), metadata=metadata, timeout=30
                ),
                "GetUploadPartUrls": lambda: stub.GetUploadPartUrls(
                    pb.GetUploadPartUrlsRequest(media_id=media_id, part_numbers=[1]),
                    metadata=metadata,
                    timeout=30,
                ),
                "GetMedia": lambda: stub.GetMedia(
                    pb.GetMediaRequest(media_id=media_id), metadata=metadata, timeout=30
                ),
            }
            assert {name: code(call) for name, call in calls.items()} == dict.fromkeys(
                calls, grpc.StatusCode.NOT_FOUND
            )
            proxy.stop()
            assert {name: code(call) for name, call in calls.items()} == dict.fromkeys(
                calls, grpc.StatusCode.UNAVAILABLE
            )
    finally:
        proxy.stop()
        running.stop(1)
        application.close()


def code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    return failed.value.code()  # type: ignore[no-any-return]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_retry_processing_takes_its_token_in_its_own_transaction(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path, unique_user: str
) -> None:
    """On SQLite the retry's transaction holds the write lock: a token taken on another
    connection would wait for it until the busy timeout."""
    if dialect == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'media.db'}")
        upgrade_to_head(engine)
    else:
        engine = build_engine(request.getfixturevalue("database_url"))
    factory = build_session_factory(engine)
    ctx = ServiceContext(uow=lambda: SqlAlchemyUnitOfWork(factory), storage=InMemoryBlobStorage())
    limits = LimitSettings(retry_burst=2, retries_per_second=0.001)
    retries = ProcessingRetries(ctx, limits, rates=OwnerRates(limits, SqlAlchemyCallRates(engine)))
    ids = []
    for _ in range(3):
        media = make_media(unique_user, status=Status.FAILED)
        media.failure = Failure(FailureReason.PROCESSING_ERROR, "stopped")
        with ctx.uow() as uow:
            uow.media.add(media)
            uow.commit()
        ids.append(media.id)
    try:
        owner = Principal(unique_user)
        assert [retries.retry(owner, i).status for i in ids[:2]] == [Status.UPLOADED] * 2
        with pytest.raises(ResourceExhausted, match=r"RetryProcessing is limited to 0\.001"):
            retries.retry(owner, ids[2])
    finally:
        engine.dispose()
