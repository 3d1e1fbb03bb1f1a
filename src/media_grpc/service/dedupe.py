"""Dedupe: the same bytes are never uploaded twice by one owner.

A CreateUploadSession that declares a sha256 looks, in its own transaction, for a READY media
of the same owner and purpose whose *verified* sha256 (computed by its processing job, never
one a client declared) and size are the declared ones. On a hit it answers without an upload
URL: a NEW media record, READY at once, that shares the source's frozen original and outputs
(``source_key``). A new record, not the old one, because a media is attached to one post at
most: the same photo in a second post needs a media of its own.

The lookup is scoped to the owner: another owner's media is never read. It is one indexed
query (``ix_media_dedupe``) done for every create that declares a sha256, hit or miss, so a
miss costs what a create without a match costs. The source row stays locked until the new
media is committed, so that a concurrent deletion either commits first (and the lookup then
misses) or sees the new media using the objects (service/deletion.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.service import audit_trail, profile_images


def find_source(
    uow: AbstractUnitOfWork, owner_id: str, purpose: Purpose, sha256: str, size_bytes: int
) -> Media | None:
    """The owner's READY media of ``purpose`` with these verified bytes, locked; or None."""
    source = uow.media.find_ready_copy(owner_id, purpose, sha256)
    if source is None or source.size_bytes != size_bytes:
        return None
    return source


def copy_of(source: Media, pending: Media, now: datetime) -> Media:
    """``pending`` (the session CreateUploadSession would have made) made READY at once on
    ``source``'s objects: its own id, name, idempotency key and (never written) upload key."""
    return replace(
        pending,
        status=Status.READY,
        source_key=source.objects_key,
        mime_type=source.mime_type,
        verified_sha256=source.verified_sha256,
        multipart=None,
        etag=source.etag,
        version_id=source.version_id,
        width=source.width,
        height=source.height,
        duration_ms=source.duration_ms,
        variants=list(source.variants),
        hls_key=source.hls_key,
        metadata=dict(source.metadata),
        expires_at=now,
        # No URL was issued for its upload key: nothing for the late-PUT sweep to delete.
        upload_swept_at=now,
    )


def record_hit(
    uow: AbstractUnitOfWork,
    storage: BlobStorage,
    media: Media,
    source: Media,
    actor: Actor,
    now: datetime,
) -> None:
    """Add the new media with the events a session created, completed and processed writes;
    a profile image becomes its owner's current one (the caller holds the owner first)."""
    uow.media.add(media)
    same = f"deduplicated: the owner's media {source.id} holds the same verified bytes"
    audit_trail.record(uow, media, actor, AuditAction.SESSION_CREATED, detail=same)
    audit_trail.record(uow, media, actor, AuditAction.UPLOAD_COMPLETED, detail=same)
    audit_trail.record(
        uow,
        media,
        actor,
        AuditAction.PROCESSING_READY,
        detail=f"shares the original and variants of media {source.id}",
    )
    profile_images.make_current(uow, storage, media, now)
