"""One profile image per owner: the newest READY one is current, every other is deleted.

When a PROFILE_IMAGE becomes READY (in the processing job's transaction) it becomes its owner's
current one, and each other READY profile image of the owner (record and every object) is
erased in the same transaction. The owner's ``profile_image`` row is locked first, before any
media row, so two uploads becoming READY at once are serialised: the second sees the first and
deletes it, and exactly one stays current. Deleting the current one leaves the owner with none.
"""

from __future__ import annotations

from datetime import datetime

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.repository import MediaFilter
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.audit import WORKER, AuditAction
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.service import audit_trail
from media_grpc.service.deletion import erase

#: Most other READY profile images deleted at once (more only exist after a migration from a
#: version that kept them all; the next READY one deletes the next batch).
MAX_REPLACED = 100


def hold_owner(uow: AbstractUnitOfWork, purpose: Purpose, owner_id: str, now: datetime) -> None:
    """For a profile image, lock the owner's row; call before reading any media row for update,
    in the transaction that may make the image current (lock order: owner, then media)."""
    if purpose is Purpose.PROFILE_IMAGE:
        uow.profile_images.hold(owner_id, now)


def make_current(
    uow: AbstractUnitOfWork, storage: BlobStorage, media: Media, now: datetime
) -> list[Media]:
    """``media``, becoming READY in this transaction, is the owner's current profile image; the
    owner's other READY profile images are erased (objects first). Returns those erased.

    Needs :func:`hold_owner` earlier in the same transaction; the caller saves ``media`` and
    commits. Does nothing for other purposes.
    """
    if media.purpose is not Purpose.PROFILE_IMAGE:
        return []
    uow.profile_images.hold(media.owner_id, now)
    uow.profile_images.set_current(media.owner_id, media.id, now)
    others = uow.media.find(
        MediaFilter(
            owner_id=media.owner_id,
            status=Status.READY,
            purpose=Purpose.PROFILE_IMAGE,
            limit=MAX_REPLACED + 1,
        )
    )
    ids = [m.id for m in others if m.id != media.id][:MAX_REPLACED]
    replaced = [m for m in uow.media.get_many(ids, for_update=True) if m.status is Status.READY]
    for previous in replaced:
        erase(uow, storage, previous, now)
        uow.media.save(previous)
        audit_trail.record(
            uow,
            previous,
            WORKER,
            AuditAction.PROFILE_REPLACED,
            detail=f"replaced by media {media.id}",
        )
    return replaced


def current(uow: AbstractUnitOfWork, owner_id: str) -> Media | None:
    """The owner's current profile image, if it is READY (None after it was deleted)."""
    media_id = uow.profile_images.current(owner_id)
    if media_id is None:
        return None
    media = uow.media.get(media_id)
    if media is None or media.status is not Status.READY:
        return None
    return media
