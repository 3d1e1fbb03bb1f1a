"""Checks an uploaded object against its session before anything trusts it.

Every read after the HEAD is pinned to the ETag the HEAD returned (``If-Match``), so the bytes
sniffed and hashed are the bytes whose ETag (and VersionId) the media records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorage, ObjectInfo
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import Conflict, VerificationFailed
from media_grpc.domain.model import Failure, FailureReason, Media
from media_grpc.domain.sniffing import SNIFF_BYTES, describe, same_format, sniff
from media_grpc.service.upload_policy import policy_for

#: Bytes per ranged GET when the server re-computes a declared sha256.
HASH_CHUNK_BYTES = 8 * 1024 * 1024


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
        """Existence, size, real type, then (when declared) sha256 of the stored object.

        Raises Conflict when the object changes while it is being read (a new PUT landed):
        completing again verifies the new content.
        """
        try:
            info = self.storage.head(media.storage_key)
        except BlobNotFound:
            return refused(
                FailureReason.OBJECT_MISSING,
                f"no object was uploaded for media {media.id}; PUT the file to the session's "
                "URL before completing",
            )
        if info.size != media.size_bytes:
            return refused(
                FailureReason.SIZE_MISMATCH,
                f"declared {media.size_bytes} bytes, storage holds {info.size}",
            )
        try:
            return self._check_content(media, info)
        except BlobNotFound:
            raise Conflict(
                f"the object of media {media.id} changed while it was verified; "
                "complete the upload again"
            ) from None

    def _check_content(self, media: Media, info: ObjectInfo) -> Verification:
        head = self.storage.read_range(
            media.storage_key, 0, min(SNIFF_BYTES, info.size) - 1, etag=info.etag
        )
        sniffed = sniff(head)
        allowed = policy_for(self.settings, media.purpose).allowed_types
        if sniffed is None or sniffed not in allowed:
            what = sniffed or f"not a known image or video format (starts {describe(head)})"
            return refused(
                FailureReason.UNSUPPORTED_FORMAT,
                f"declared {media.declared_content_type}, but the bytes are {what}; "
                f"{media.purpose.value} accepts {', '.join(allowed)}",
            )
        if not same_format(media.declared_content_type, sniffed):
            return refused(
                FailureReason.TYPE_MISMATCH,
                f"declared {media.declared_content_type}, but the bytes are {sniffed}",
            )
        if media.sha256:
            actual = self._sha256(media.storage_key, info)
            if actual != media.sha256:
                return refused(
                    FailureReason.CHECKSUM_MISMATCH,
                    f"declared sha256 {media.sha256}, the stored bytes hash to {actual}",
                )
        return Verification(etag=info.etag, version_id=info.version_id, mime_type=sniffed)

    def _sha256(self, key: str, info: ObjectInfo) -> str:
        """Stream the object (pinned to its ETag) through sha256, one ranged GET per chunk."""
        digest = hashlib.sha256()
        for start in range(0, info.size, HASH_CHUNK_BYTES):
            end = min(start + HASH_CHUNK_BYTES, info.size) - 1
            digest.update(self.storage.read_range(key, start, end, etag=info.etag))
        return digest.hexdigest()

    def discard(self, media: Media) -> None:
        """Remove whatever a refused or aborted upload left in storage."""
        if media.multipart is not None:
            self.storage.abort_multipart_upload(media.storage_key, media.multipart.upload_id)
        self.storage.delete([media.storage_key])


def refused(reason: FailureReason, message: str) -> Verification:
    return Verification(failure=Failure(reason, message))
