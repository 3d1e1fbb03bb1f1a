"""What every use case is built with: a unit of work factory, storage, a clock and ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.errors import MediaNotFound, PermissionDenied
from media_grpc.domain.ids import check_media_id, echo
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class ServiceContext:
    uow: Callable[[], AbstractUnitOfWork]
    storage: BlobStorage
    now: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = field(default=new_id)
    #: Units of work that only read, outside a transaction (no BEGIN, no ROLLBACK: each
    #: statement sees what was committed when it started); ``uow`` when not given.
    read: Callable[[], AbstractUnitOfWork] | None = None

    def load_visible(self, principal: Principal, media_id: str) -> Media:
        """The media, if it exists and the caller may touch it."""
        check_media_id(media_id)
        with (self.read or self.uow)() as uow:
            media = uow.media.get(media_id)
        return check_visible(principal, media, media_id)


def check_visible(principal: Principal, media: Media | None, media_id: str) -> Media:
    check_media_id(media_id)
    if media is None:
        raise MediaNotFound(f"media {echo(media_id)!r} does not exist")
    if not principal.may_touch(media.owner_id):
        raise PermissionDenied(f"media {echo(media_id)!r} belongs to another user")
    return media
