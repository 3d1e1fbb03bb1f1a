"""Processing jobs: what CompleteUpload queues (through the outbox) for the workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from media_grpc.domain.model import JobKind, Media, Purpose


@dataclass(frozen=True)
class ProcessingJob:
    """One unit of work for a worker; `job_id` is also the outbox row's id."""

    job_id: str
    kind: JobKind
    media_id: str
    owner_id: str
    purpose: Purpose
    storage_key: str
    etag: str
    version_id: str
    mime_type: str
    size_bytes: int
    created_at: datetime

    @staticmethod
    def for_media(job_id: str, media: Media, now: datetime) -> ProcessingJob:
        return ProcessingJob(
            job_id=job_id,
            kind=JobKind.for_purpose(media.purpose),
            media_id=media.id,
            owner_id=media.owner_id,
            purpose=media.purpose,
            storage_key=media.storage_key,
            etag=media.etag or "",
            version_id=media.version_id or "",
            mime_type=media.mime_type,
            size_bytes=media.size_bytes,
            created_at=now,
        )
