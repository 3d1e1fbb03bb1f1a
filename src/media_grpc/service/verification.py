"""Checks an uploaded object against its session before anything trusts it, in constant time.

One ranged GET of the first bytes answers everything completion checks: existence, size (from
Content-Range), ETag and VersionId (which the media then pins), the stored Content-Type and the
real type sniffed from the bytes. A declared sha256 is not computed here: the processing job
hashes the original while it downloads it anyway, so CompleteUpload costs the same for 1 KiB and
5 GiB (UPLOADED means present, of the right size and type; READY means hash verified and
processed).
"""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorage
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import VerificationFailed
from media_grpc.domain.model import Failure, FailureReason, Media
from media_grpc.domain.sniffing import SNIFF_BYTES, describe, same_format, sniff
from media_grpc.service.upload_policy import policy_for

#: Characters of a stored Content-Type quoted in a refusal.
QUOTED_TYPE_CHARS = 64


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
        """Existence, size, stored Content-Type and real type of the stored object."""
        try:
            info, head = self.storage.read_start(media.storage_key, SNIFF_BYTES)
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
        if _base_type(info.content_type) != _base_type(media.declared_content_type):
            # Storage served it with this type: several S3-compatible stores do not enforce
            # the signed Content-Type header, so it is checked here.
            stored = info.content_type[:QUOTED_TYPE_CHARS] or "no Content-Type"
            return refused(
                FailureReason.TYPE_MISMATCH,
                f"declared {media.declared_content_type}, but the object was stored as "
                f"{stored}; PUT with the signed Content-Type header",
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
        return Verification(etag=info.etag, version_id=info.version_id, mime_type=sniffed)

    def discard(self, media: Media) -> None:
        """Remove whatever a refused or aborted upload left in storage."""
        if media.multipart is not None:
            self.storage.abort_multipart_upload(media.storage_key, media.multipart.upload_id)
        self.storage.delete([media.storage_key])


def refused(reason: FailureReason, message: str) -> Verification:
    return Verification(failure=Failure(reason, message))


def _base_type(content_type: str) -> str:
    """``image/JPEG; charset=x`` -> ``image/jpeg``."""
    return content_type.split(";", 1)[0].strip().lower()
