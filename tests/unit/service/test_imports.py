"""The import use case with fakes: idempotency, leases, failures recorded and retried."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from media_grpc.adapters.url_fetcher import FetchedBody, PolicyUrlFetcher, Target, UrlFetcher
from media_grpc.config.imports import ImportSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import (
    Conflict,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
)
from media_grpc.domain.imports import ImportReason, ImportRefused, ImportState, import_key
from media_grpc.domain.model import Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.import_records import claim_import
from media_grpc.service.import_requests import ImportRequest
from media_grpc.service.imports import MediaImports
from tests.fakes import FakeDatabase, InMemoryBlobStorage

SERVICE = Principal("post-service", is_service=True)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


class DictFetcher(UrlFetcher):
    """Serves bytes by URL; a URL mapped to an exception raises it; counts fetches."""

    def __init__(self, files: dict[str, bytes | Exception]) -> None:
        self.files = files
        self.fetches: list[str] = []

    def check(self, url: str) -> Target:
        return Target(url, "https", "legacy.test", 443, "/", ["93.184.216.34"])

    @contextmanager
    def open(self, url: str) -> Iterator[FetchedBody]:
        self.fetches.append(url)
        found = self.files[url]
        if isinstance(found, Exception):
            raise found
        yield FetchedBody(url=url, declared_length=None, chunks=iter([found[:10], found[10:]]))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def imports(
    db: FakeDatabase, storage: InMemoryBlobStorage, fetcher: DictFetcher, clock: Clock
) -> MediaImports:
    ctx = ServiceContext(uow=db.uow, storage=storage, now=clock)
    return MediaImports(
        ctx, fetcher, UploadSettings(), ImportSettings(allowed_hosts=["legacy.test"])
    )


def request(url: str = "https://legacy.test/a.png") -> ImportRequest:
    return ImportRequest(url=url, owner_id="alice", purpose=Purpose.POST_IMAGE)


def test_an_import_stores_the_bytes_and_queues_one_job(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    fetcher = DictFetcher({request().url: PNG})

    result = imports(fake_db, memory_storage, fetcher, clock).import_media(SERVICE, request())

    assert result.created and result.media is not None
    assert result.media.status is Status.UPLOADED
    assert memory_storage.objects[result.media.storage_key].data == PNG
    assert [job.media_id for job in fake_db.published] == [result.media.id]


def test_users_cannot_import(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    service = imports(fake_db, memory_storage, DictFetcher({}), clock)

    with pytest.raises(PermissionDenied):
        service.import_media(Principal("alice"), request())


def test_an_import_in_progress_is_not_started_twice_until_its_lease_runs_out(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    fetcher = DictFetcher({request().url: PNG})
    service = imports(fake_db, memory_storage, fetcher, clock)
    record, _ = claim_import(service.ctx, service.settings, request())  # then died mid-fetch

    with pytest.raises(Conflict):
        service.import_media(SERVICE, request())
    clock.now = record.lease_until + timedelta(seconds=1)
    result = service.import_media(SERVICE, request())

    assert result.created and result.media is not None
    assert result.media.id != record.media_id
    assert fake_db.imports[import_key(request().url)].attempts == 2


def test_a_refused_import_is_recorded_and_the_next_call_tries_again(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    url = request().url
    fetcher = DictFetcher({url: ImportRefused(ImportReason.HTTP_ERROR, "HTTP 503")})
    service = imports(fake_db, memory_storage, fetcher, clock)

    with pytest.raises(ImportRefused):
        service.import_media(SERVICE, request())
    failed = fake_db.imports[import_key(url)]
    fetcher.files[url] = PNG
    again = service.import_media(SERVICE, request())

    assert (failed.state, failed.reason) == (ImportState.FAILED, "HTTP_ERROR")
    assert again.created and fake_db.imports[import_key(url)].state is ImportState.IMPORTED
    assert len(fetcher.fetches) == 2


def test_a_file_of_a_type_the_purpose_refuses_leaves_nothing_in_storage(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    fetcher = DictFetcher({request().url: b"<!doctype html><p>not an image</p>"})

    with pytest.raises(ImportRefused) as refused:
        imports(fake_db, memory_storage, fetcher, clock).import_media(SERVICE, request())

    assert refused.value.reason == "UNSUPPORTED_FORMAT"
    assert memory_storage.objects == {}
    assert fake_db.media == {}


def test_imports_beyond_the_concurrency_cap_are_refused_with_a_retry_delay(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    ctx = ServiceContext(uow=fake_db.uow, storage=memory_storage, now=clock)
    service = MediaImports(
        ctx,
        DictFetcher({request().url: PNG}),
        UploadSettings(),
        ImportSettings(allowed_hosts=["legacy.test"], max_concurrent=1),
    )
    assert service.slots.acquire(blocking=False)  # one import is running

    with pytest.raises(ResourceExhausted) as refused:
        service.import_media(SERVICE, request())
    service.slots.release()
    done = service.import_media(SERVICE, request())

    assert refused.value.retry_after_seconds > 0
    assert done.created


def test_an_import_stopped_by_an_unexpected_error_is_failed_not_left_fetching(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    url = request().url
    service = imports(fake_db, memory_storage, DictFetcher({url: UnicodeError("label")}), clock)

    with pytest.raises(UnicodeError):
        service.import_media(SERVICE, request())
    record = fake_db.imports[import_key(url)]

    assert (record.state, record.reason) == (ImportState.FAILED, "INTERRUPTED")


def test_a_malformed_url_is_invalid_argument_before_any_record(
    fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage, clock: Clock
) -> None:
    service = MediaImports(
        ServiceContext(uow=fake_db.uow, storage=memory_storage, now=clock),
        PolicyUrlFetcher(ImportSettings(allowed_hosts=["legacy.test"])),
        UploadSettings(),
        ImportSettings(allowed_hosts=["legacy.test"]),
    )

    with pytest.raises(InvalidArgument, match="not a valid host") as refused:
        service.import_media(SERVICE, request("https://legacy.test..:443/a.png"))

    assert refused.value.field == "url"
    assert not fake_db.imports
