"""Media records and the values they are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Purpose(StrEnum):
    """What an upload is for: decides allowed types, size limit and processing."""

    POST_IMAGE = "POST_IMAGE"
    POST_VIDEO = "POST_VIDEO"
    PROFILE_IMAGE = "PROFILE_IMAGE"

    @property
    def is_video(self) -> bool:
        return self is Purpose.POST_VIDEO


class Status(StrEnum):
    """Where a media is in its life."""

    PENDING = "PENDING"
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    DELETED = "DELETED"

    @property
    def is_final(self) -> bool:
        """True for the statuses a watcher stops at."""
        return self in (Status.READY, Status.FAILED, Status.DELETED)


class FailureReason(StrEnum):
    """Machine-readable cause of a FAILED media (mirrors media.v1.FailureReason)."""

    OBJECT_MISSING = "OBJECT_MISSING"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"
    CORRUPT = "CORRUPT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    TIMEOUT = "TIMEOUT"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"


class VariantKind(StrEnum):
    """What a variant is (mirrors media.v1.VariantKind)."""

    IMAGE = "IMAGE"
    POSTER = "POSTER"
    VIDEO = "VIDEO"


class JobKind(StrEnum):
    """The processing queue a media's job goes to."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"

    @staticmethod
    def for_purpose(purpose: Purpose) -> JobKind:
        return JobKind.VIDEO if purpose.is_video else JobKind.IMAGE


@dataclass(frozen=True)
class Failure:
    reason: FailureReason
    message: str


@dataclass(frozen=True)
class Variant:
    """One derived object of a media, stored at the bucket key `storage_key`."""

    name: str
    kind: VariantKind
    storage_key: str
    width: int = 0
    height: int = 0
    bitrate: int = 0
    mime_type: str = ""
    size_bytes: int = 0


@dataclass(frozen=True)
class MultipartSession:
    """The storage side of a multipart upload."""

    upload_id: str
    part_size: int
    part_count: int


@dataclass
class Media:
    """One uploaded file and everything derived from it."""

    id: str
    owner_id: str
    purpose: Purpose
    status: Status
    storage_key: str
    file_name: str
    declared_content_type: str
    size_bytes: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    mime_type: str = ""
    #: The sha256 the client declared (checked by the job: a mismatch fails the media).
    sha256: str | None = None
    #: The sha256 the processing job computed from the stored original: the only hash an
    #: upload is ever deduplicated on (service/dedupe.py).
    verified_sha256: str | None = None
    #: For a media made by a dedupe hit: the ``storage_key`` of the media whose frozen
    #: original and outputs it shares (None: its objects are its own).
    source_key: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str = ""
    multipart: MultipartSession | None = None
    etag: str | None = None
    version_id: str | None = None
    width: int = 0
    height: int = 0
    duration_ms: int = 0
    failure: Failure | None = None
    variants: list[Variant] = field(default_factory=list)
    #: Bucket key of the HLS master playlist, for videos.
    hls_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    post_id: str | None = None
    post_position: int = 0
    deleted_at: datetime | None = None
    #: When the cleanup last deleted the upload key of a completed media, after its URLs
    #: expired (a late PUT may have written it); None until then.
    upload_swept_at: datetime | None = None

    @property
    def objects_key(self) -> str:
        """The storage key its frozen original and output prefix derive from: its own, or
        that of the media it shares them with."""
        return self.source_key or self.storage_key
