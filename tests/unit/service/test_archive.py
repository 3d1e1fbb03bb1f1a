"""RetryProcessing of a media whose original sits in an archive storage class."""

from __future__ import annotations

import pytest

from media_grpc.adapters.blob_storage import Availability
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.model import Failure, FailureReason, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.archive import original_keys
from media_grpc.service.context import ServiceContext
from media_grpc.service.retry_processing import ProcessingRetries
from tests.fakes import FakeDatabase, InMemoryBlobStorage
from tests.media_records import make_media


class ArchivingStorage(InMemoryBlobStorage):
    """Keys in ``archived`` are in GLACIER; ``restorable`` says whether RestoreObject works."""

    def __init__(self, *, restorable: bool) -> None:
        super().__init__()
        self.archived: set[str] = set()
        self.restoring: set[str] = set()
        self.restorable = restorable

    def availability(self, key: str) -> Availability:
        self.head(key)  # BlobNotFound when missing
        if key not in self.archived:
            return Availability("STANDARD", readable=True)
        return Availability("GLACIER", readable=False, restoring=key in self.restoring)

    def request_restore(self, key: str, *, days: int) -> bool:
        if self.restorable:
            self.restoring.add(key)
        return self.restorable


def failed_with_archived_original(
    fake_db: FakeDatabase, storage: ArchivingStorage, *, frozen: bool
) -> str:
    media = make_media("alice", status=Status.FAILED)
    media.failure = Failure(FailureReason.PROCESSING_ERROR, "gave up")
    fake_db.media[media.id] = media
    key = original_keys(media)[0 if frozen else -1]
    storage.put(key, b"x")
    storage.archived.add(key)
    return media.id


@pytest.mark.parametrize("frozen", [True, False])
def test_retry_of_an_archived_original_starts_its_restore_and_is_refused(
    fake_ctx: ServiceContext, fake_db: FakeDatabase, frozen: bool
) -> None:
    storage = ArchivingStorage(restorable=True)
    fake_ctx.storage = storage
    media_id = failed_with_archived_original(fake_db, storage, frozen=frozen)
    retries = ProcessingRetries(fake_ctx, restore_days=3)

    with pytest.raises(FailedPrecondition, match=r"archived .*GLACIER.*restore for 3 day"):
        retries.retry(Principal("alice"), media_id)
    with pytest.raises(FailedPrecondition, match="restore is in progress"):
        retries.retry(Principal("alice"), media_id)

    assert storage.restoring == storage.archived
    assert fake_db.media[media_id].status is Status.FAILED
    assert fake_db.published == []


def test_retry_of_an_archived_original_storage_cannot_restore_says_what_to_do(
    fake_ctx: ServiceContext, fake_db: FakeDatabase
) -> None:
    storage = ArchivingStorage(restorable=False)
    fake_ctx.storage = storage
    media_id = failed_with_archived_original(fake_db, storage, frozen=True)

    with pytest.raises(FailedPrecondition, match=r"restore originals/.* by hand"):
        ProcessingRetries(fake_ctx).retry(Principal("alice"), media_id)
