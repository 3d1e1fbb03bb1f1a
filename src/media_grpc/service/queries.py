"""Reading media: one, several, or a page of one owner's."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from media_grpc.adapters.repository import MediaFilter
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import profile_images
from media_grpc.service.context import ServiceContext

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BATCH = 100


@dataclass(frozen=True)
class MediaPage:
    media: list[Media]
    next_page_token: str


#: Statuses in which a media has an original in storage worth a URL.
_WITH_ORIGINAL = frozenset({Status.UPLOADED, Status.PROCESSING, Status.READY, Status.FAILED})


class MediaQueries:
    def __init__(self, ctx: ServiceContext, *, original_url_ttl_seconds: int = 300) -> None:
        self.ctx = ctx
        self.original_url_ttl_seconds = original_url_ttl_seconds

    def get(self, principal: Principal, media_id: str) -> Media:
        return self.ctx.load_visible(principal, media_id)

    def original_url(self, principal: Principal, media: Media) -> str | None:
        """A short-lived presigned GET of the private original, for its owner and services only.

        Nobody else gets one, and there is none before the upload completed or after deletion.
        """
        if not principal.may_touch(media.owner_id) or media.status not in _WITH_ORIGINAL:
            return None
        return self.ctx.storage.presign_get(
            media.storage_key, expires_in=self.original_url_ttl_seconds
        )

    def profile_image(self, principal: Principal, owner_id: str) -> Media | None:
        """The owner's current profile image (users: their own; services: anyone's), or None."""
        owner = principal.owner_for(owner_id)
        with self.ctx.uow() as uow:
            return profile_images.current(uow, owner)

    def batch_get(
        self, principal: Principal, media_ids: list[str]
    ) -> tuple[list[Media], list[str]]:
        """The visible media in the order asked, and the ids not found (or not visible)."""
        if len(media_ids) > MAX_BATCH:
            raise InvalidArgument(
                f"at most {MAX_BATCH} media_ids per call, got {len(media_ids)}",
                field="media_ids",
                limit=str(MAX_BATCH),
                value=str(len(media_ids)),
            )
        with self.ctx.uow() as uow:
            found = {m.id: m for m in uow.media.get_many(media_ids)}
        visible = [
            found[i] for i in media_ids if i in found and principal.may_touch(found[i].owner_id)
        ]
        seen = {m.id for m in visible}
        return visible, [i for i in media_ids if i not in seen]

    def list(
        self,
        principal: Principal,
        *,
        owner_id: str,
        status: Status | None,
        purpose: Purpose | None,
        page_size: int,
        page_token: str,
    ) -> MediaPage:
        owner = principal.owner_for(owner_id)
        if page_size < 0:
            raise InvalidArgument(
                "page_size must not be negative",
                field="page_size",
                limit=f"0..{MAX_PAGE_SIZE}",
                value=str(page_size),
            )
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        query = MediaFilter(
            owner_id=owner,
            status=status,
            purpose=purpose,
            limit=limit + 1,
            after=_decode_token(page_token),
        )
        with self.ctx.uow() as uow:
            rows = uow.media.find(query)
        page, more = rows[:limit], len(rows) > limit
        return MediaPage(page, _encode_token(page[-1]) if more and page else "")


def _encode_token(last: Media) -> str:
    raw = json.dumps([last.created_at.isoformat(), last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        created_at, media_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created_at), str(media_id)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument(
            "page_token is not one this service issued", field="page_token", value=token[:40]
        ) from None
