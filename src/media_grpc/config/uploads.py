"""Settings of upload sessions (MEDIA_UPLOADS__*): per-purpose policy, multipart, URL expiry."""

from __future__ import annotations

from pydantic import BaseModel, Field

MiB = 1024 * 1024
GiB = 1024 * MiB

IMAGE_TYPES = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/avif",
]
VIDEO_TYPES = ["video/mp4", "video/quicktime", "video/webm", "video/x-matroska"]


class PurposePolicy(BaseModel):
    """What one purpose accepts."""

    #: Declared and sniffed MIME types accepted.
    allowed_types: list[str]
    #: Largest file accepted, in bytes (at most 5 TiB, the largest S3 object).
    max_bytes: int = Field(gt=0, le=5 * 1024 * GiB)


class UploadSettings(BaseModel):
    post_image: PurposePolicy = PurposePolicy(allowed_types=IMAGE_TYPES, max_bytes=50 * MiB)
    post_video: PurposePolicy = PurposePolicy(allowed_types=VIDEO_TYPES, max_bytes=5 * GiB)
    profile_image: PurposePolicy = PurposePolicy(allowed_types=IMAGE_TYPES, max_bytes=20 * MiB)
    #: Files of at least this many bytes get a multipart session.
    multipart_threshold_bytes: int = 8 * MiB
    #: Preferred part size; raised when a file would need more than 10,000 parts.
    part_size_bytes: int = Field(default=8 * MiB, ge=5 * MiB)
    #: How many part URLs CreateUploadSession presigns up front.
    initial_part_urls: int = Field(default=20, ge=1, le=10_000)
    #: Lifetime of presigned URLs and of a PENDING session, in seconds.
    url_ttl_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    #: Lifetime of a PENDING multipart session, in seconds: fresh part URLs (GetUploadPartUrls)
    #: are handed out until then, so a large upload can resume after its first URLs expired.
    multipart_session_ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    #: Seconds a CompleteUpload that finds its multipart upload gone from storage, and no object
    #: in its place yet, waits for the object before it calls the upload missing: another server
    #: may be assembling it, and some stores drop the upload before the object is visible.
    assembly_grace_seconds: float = Field(default=2.0, ge=0, le=60)
