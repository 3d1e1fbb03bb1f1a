"""The status state machine: every status change of a media goes through here."""

from __future__ import annotations

from datetime import datetime

from media_grpc.domain.errors import FailedPrecondition
from media_grpc.domain.model import Failure, Media, Status

#: Which statuses each status may move to.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.UPLOADED, Status.FAILED, Status.DELETED}),
    Status.UPLOADED: frozenset({Status.PROCESSING, Status.READY, Status.FAILED, Status.DELETED}),
    Status.PROCESSING: frozenset(
        {Status.PROCESSING, Status.READY, Status.FAILED, Status.UPLOADED, Status.DELETED}
    ),
    Status.READY: frozenset({Status.DELETED}),
    Status.FAILED: frozenset({Status.UPLOADED, Status.DELETED}),
    Status.DELETED: frozenset(),
}


def move(media: Media, to: Status, now: datetime) -> None:
    """Change the status, or raise FailedPrecondition naming both ends."""
    if to not in TRANSITIONS[media.status]:
        raise FailedPrecondition(
            f"media {media.id} is {media.status.value}; it cannot become {to.value}"
        )
    media.status = to
    media.updated_at = now


def mark_uploaded(
    media: Media, *, etag: str, version_id: str | None, mime_type: str, now: datetime
) -> None:
    """Pin what completion verified: workers read exactly this content."""
    move(media, Status.UPLOADED, now)
    media.etag = etag
    media.version_id = version_id
    media.mime_type = mime_type
    media.failure = None


def mark_failed(media: Media, failure: Failure, now: datetime) -> None:
    move(media, Status.FAILED, now)
    media.failure = failure
