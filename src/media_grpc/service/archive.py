"""Archived originals: a job cannot read an original in an archive storage class.

``storage init`` may write a lifecycle rule moving frozen originals (``originals/``) to an
archive class after N days (MEDIA_STORAGE__ARCHIVE_AFTER_DAYS). A use case that needs to read
the original again (RetryProcessing) checks first and answers FAILED_PRECONDITION, starting a
restore where storage supports one (S3 RestoreObject), instead of queueing a job that would fail.
"""

from __future__ import annotations

from media_grpc.adapters.blob_storage import Availability, BlobNotFound, BlobStorage
from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.keys import ORIGINALS_PREFIX, UPLOADS_PREFIX
from media_grpc.domain.model import Media

#: Days a restored copy stays readable when nothing else is configured.
DEFAULT_RESTORE_DAYS = 7


class RestoreStarted(FailedPrecondition):
    """The original is archived and this call started its restore."""


def original_keys(media: Media) -> list[str]:
    """Where the job reads the original: its frozen copy under ``originals/`` first, then the
    upload's key."""
    key = media.objects_key
    if key.startswith(UPLOADS_PREFIX):
        return [ORIGINALS_PREFIX + key[len(UPLOADS_PREFIX) :], key]
    return [key]


def _availability(storage: BlobStorage, media: Media) -> tuple[str, Availability] | None:
    for key in original_keys(media):
        try:
            return key, storage.availability(key)
        except BlobNotFound:
            continue
    return None


def require_readable_original(
    storage: BlobStorage, media: Media, restore_days: int = DEFAULT_RESTORE_DAYS
) -> None:
    """Raise FailedPrecondition while the original is archived; start its restore if possible.

    A missing original is left for the job to report (it fails with OBJECT_MISSING).
    """
    found = _availability(storage, media)
    if found is None or found[1].readable:
        return
    key, state = found
    archived = f"the original of media {media.id} is archived (storage class {state.storage_class})"
    if state.restoring:
        raise FailedPrecondition(f"{archived}; its restore is in progress: retry when it is done")
    if storage.request_restore(key, days=restore_days):
        raise RestoreStarted(
            f"{archived}; a restore for {restore_days} day(s) has been started: retry when it "
            "is done (hours, depending on the storage class)"
        )
    raise FailedPrecondition(
        f"{archived} and this storage cannot restore it on request: restore {key} by hand, "
        "then retry"
    )
