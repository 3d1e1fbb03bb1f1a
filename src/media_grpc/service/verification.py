"""Checks an uploaded object against its session before anything trusts it."""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorage
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import VerificationFailed
from media_grpc.domain.model import Failure, FailureReason, Media


@dataclass(frozen=True)
class Verification:
    """What completion found in storage: the pinned content, or why it was refused."""

    etag: str = ""
    version_id: str | None = None
    mime_type: str = ""
    failure: Failure | None = None

    def as_error(self) -> VerificationFailed:
        assert self.failure is not None
        return VerificationFailed(self.failure.message, reason=self.failure.reason.value)


class UploadVerifier:
    def __init__(self, storage: BlobStorage, settings: UploadSettings) -> None:
        self.storage = storage
        self.settings = settings

    def verify(self, media: Media) -> Verification:
        try:
            info = self.storage.head(media.storage_key)
        except BlobNotFound:
            return _refused(
                FailureReason.OBJECT_MISSING,
                f"no object was uploaded for media {media.id}; PUT the file to the session's "
                "URL before completing",
            )
        if info.size != media.size_bytes:
            return _refused(
                FailureReason.SIZE_MISMATCH,
                f"declared {media.size_bytes} bytes, storage holds {info.size}",
            )
        return Verification(
            etag=info.etag, version_id=info.version_id, mime_type=media.declared_content_type
        )

    def discard(self, media: Media) -> None:
        """Remove whatever a refused upload left in storage."""
        self.storage.delete([media.storage_key])


def _refused(reason: FailureReason, message: str) -> Verification:
    return Verification(failure=Failure(reason, message))
