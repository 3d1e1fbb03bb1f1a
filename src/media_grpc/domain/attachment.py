"""Whether a media may be attached to a post: one verdict per media, with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from media_grpc.domain.model import Media, Purpose, Status


class Attachability(StrEnum):
    """The verdict on one media (mirrors media.v1.ValidationReason)."""

    OK = "OK"
    NOT_FOUND = "NOT_FOUND"
    NOT_OWNER = "NOT_OWNER"
    NOT_READY = "NOT_READY"
    ALREADY_ATTACHED = "ALREADY_ATTACHED"
    FAILED = "FAILED"
    WRONG_PURPOSE = "WRONG_PURPOSE"


@dataclass(frozen=True)
class Verdict:
    media_id: str
    reason: Attachability
    #: A sentence for a developer, naming the media.
    message: str

    @property
    def ok(self) -> bool:
        return self.reason is Attachability.OK


def ownership(media_id: str, media: Media | None, owner_id: str) -> Verdict:
    """OK, NOT_FOUND (missing or deleted) or NOT_OWNER."""
    if media is None or media.status is Status.DELETED:
        return Verdict(media_id, Attachability.NOT_FOUND, f"media {media_id} does not exist")
    if media.owner_id != owner_id:
        return Verdict(
            media_id,
            Attachability.NOT_OWNER,
            f"media {media_id} does not belong to owner {owner_id}",
        )
    return Verdict(media_id, Attachability.OK, f"media {media_id} belongs to owner {owner_id}")


def judge(media_id: str, media: Media | None, owner_id: str, post_id: str) -> Verdict:
    """May ``owner_id`` attach this media to ``post_id`` now? Checks run in the order below."""
    owned = ownership(media_id, media, owner_id)
    if not owned.ok or media is None:
        return owned
    reason, message = Attachability.OK, f"media {media_id} can be attached"
    if media.purpose is Purpose.PROFILE_IMAGE:
        reason = Attachability.WRONG_PURPOSE
        message = f"media {media_id} is a PROFILE_IMAGE; only post media can be attached to posts"
    elif media.status is Status.FAILED:
        reason = Attachability.FAILED
        cause = f" ({media.failure.reason.value}: {media.failure.message})" if media.failure else ""
        message = f"media {media_id} FAILED{cause}"
    elif media.status is not Status.READY:
        reason = Attachability.NOT_READY
        message = f"media {media_id} is {media.status.value}; only READY media can be attached"
    elif media.post_id and media.post_id != post_id:
        reason = Attachability.ALREADY_ATTACHED
        message = f"media {media_id} is already attached to post {media.post_id}"
    return Verdict(media_id, reason, message)
