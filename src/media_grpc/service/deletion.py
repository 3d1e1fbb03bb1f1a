"""Deleting media: every object in storage first, then the record becomes DELETED.

The record's row stays locked while its objects are deleted, so a concurrent AttachMedia waits
and then sees DELETED. If storage fails, the transaction rolls back and the call can be
retried; deleting a DELETED media again re-runs the object deletion, which is harmless.
DELETED records are purged later by ``media-grpc cleanup``.

Shared objects (a dedupe hit, service/dedupe.py): a media may use the frozen original and
outputs of another media of its owner. Every path that deletes a media's objects goes through
:func:`delete_objects`, which deletes those shared ones only when no other media, not DELETED,
uses them; a media's own upload key always goes. A dedupe hit locks the media it copies, so a
deletion of that media either commits first (the hit then misses) or sees the new media.
Two media sharing objects deleted in the same instant may each see the other still live and
both keep the objects: the purge of their DELETED records (after the retention) runs the
check again, sees neither, and deletes them.
"""

from __future__ import annotations

from datetime import datetime

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain import keys, lifecycle
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.ids import check_media_id
from media_grpc.domain.model import Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import audit_trail
from media_grpc.service.context import ServiceContext, check_visible


def object_keys(media: Media, *, shared_too: bool = True) -> list[str]:
    """The keys a media's record names: the upload, its frozen copy (made by the job), each
    variant, the HLS playlist. Without ``shared_too``, only its upload key."""
    named = [media.storage_key]
    if shared_too:
        named += [
            keys.frozen_original_key(media.objects_key),
            *(v.storage_key for v in media.variants),
        ]
        if media.hls_key:
            named.append(media.hls_key)
    return list(dict.fromkeys(named))


def delete_objects(uow: AbstractUnitOfWork, storage: BlobStorage, media: Media) -> int:
    """Abort a pending multipart upload, delete the named keys and the whole output prefix;
    the frozen original, variants and prefix only when no other live media uses them.

    HLS segments and renditions are not variant rows; they live under the output prefix.
    Returns how many keys it asked to go: those named, and those found under the prefix.
    """
    if media.multipart is not None:
        storage.abort_multipart_upload(media.storage_key, media.multipart.upload_id)
    shared = uow.media.objects_in_use(media.objects_key, media.id)
    named = object_keys(media, shared_too=not shared)
    storage.delete(named)
    if shared:
        return len(named)
    prefix = keys.output_prefix(media.objects_key, video=media.purpose.is_video)
    return len(named) + storage.delete_prefix(prefix)


def erase(uow: AbstractUnitOfWork, storage: BlobStorage, media: Media, now: datetime) -> None:
    """Delete the objects, then mark DELETED and detached (the caller saves and commits)."""
    delete_objects(uow, storage, media)
    if media.status is not Status.DELETED:
        lifecycle.move(media, Status.DELETED, now)
        media.deleted_at = now
    media.post_id = None
    media.post_position = 0


class MediaDeletion:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def delete(self, principal: Principal, media_id: str) -> Media:
        """DeleteMedia: owners delete their own media, service principals any. Idempotent."""
        check_media_id(media_id)
        with self.ctx.uow() as uow:
            media = check_visible(principal, uow.media.get(media_id, for_update=True), media_id)
            newly = media.status is not Status.DELETED
            erase(uow, self.ctx.storage, media, self.ctx.now())
            uow.media.save(media)
            if newly:
                audit_trail.record(
                    uow, media, Actor.of(principal, media.owner_id), AuditAction.DELETED
                )
            uow.commit()
        return media
