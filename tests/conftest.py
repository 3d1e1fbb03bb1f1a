"""Fixtures shared by every test layer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from media_grpc.config.uploads import UploadSettings
from media_grpc.service.context import ServiceContext
from tests.fakes import FakeDatabase, InMemoryBlobStorage


@pytest.fixture
def fake_db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def memory_storage() -> InMemoryBlobStorage:
    return InMemoryBlobStorage()


@pytest.fixture
def fake_ctx(fake_db: FakeDatabase, memory_storage: InMemoryBlobStorage) -> ServiceContext:
    return ServiceContext(uow=fake_db.uow, storage=memory_storage)


@pytest.fixture
def upload_settings() -> UploadSettings:
    return UploadSettings()


@pytest.fixture
def unique_user() -> Iterator[str]:
    """A user id no other test uses, so tests never depend on cleanup order."""
    yield f"user-{uuid.uuid4().hex[:12]}"
