"""Reading media: one, several, or a page of one owner's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from media_grpc.adapters.repository import MediaFilter
from media_grpc.domain.errors import InvalidArgument, check_at_most
from media_grpc.domain.ids import MEDIA_IDS_PER_CALL, check_ids
from media_grpc.domain.keys import frozen_original_key
from media_grpc.domain.model import FailureReason, Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import profile_images
from media_grpc.service.context import ServiceContext

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BATCH = 100
#: Longest page_token read, in characters (the ones issued are about 120).
MAX_PAGE_TOKEN_CHARS = 512
#: Bytes of HMAC-SHA256 kept in a page token.
PAGE_TOKEN_MAC_BYTES = 16


@dataclass(frozen=True)
class MediaPage:
    media: list[Media]
    next_page_token: str


#: Failures after which the job keeps the frozen original (so that RetryProcessing works).
_KEPT_AFTER_FAILURE = frozenset({FailureReason.PROCESSING_ERROR, FailureReason.TIMEOUT})


class MediaQueries:
    """Parameters:
    page_key: key of the HMAC that authenticates page tokens. Every process serving the same
        clients needs the same key; without one, a random key of this process is used.
    original_url_ttl_seconds: lifetime of the presigned GET of an original.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        page_key: bytes | None = None,
        *,
        original_url_ttl_seconds: int = 300,
    ) -> None:
        self.ctx = ctx
        self.page_tokens = PageTokens(page_key or secrets.token_bytes(32))
        self.original_url_ttl_seconds = original_url_ttl_seconds

    def get(self, principal: Principal, media_id: str) -> Media:
        return self.ctx.load_visible(principal, media_id)

    def original_url(self, principal: Principal, media: Media) -> str | None:
        """A short-lived presigned GET of the private original, for its owner and services only.

        Nobody else gets one, and there is none before the upload completed or after deletion.
        """
        key = _original_key(media)
        if key is None or not principal.may_touch(media.owner_id):
            return None
        return self.ctx.storage.presign_get(key, expires_in=self.original_url_ttl_seconds)

    def profile_image(self, principal: Principal, owner_id: str) -> Media | None:
        """The owner's current profile image (users: their own; services: anyone's), or None."""
        owner = principal.owner_for(owner_id)
        with self.ctx.uow() as uow:
            return profile_images.current(uow, owner)

    def batch_get(
        self, principal: Principal, media_ids: list[str]
    ) -> tuple[list[Media], list[str]]:
        """The visible media in the order asked, and the ids not found (or not visible)."""
        check_at_most(len(media_ids), MAX_BATCH, field="media_ids", message=MEDIA_IDS_PER_CALL)
        check_ids(media_ids, "media_ids")
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
            after=self.page_tokens.read(page_token, owner),
        )
        with self.ctx.uow() as uow:
            rows = uow.media.find(query)
        page, more = rows[:limit], len(rows) > limit
        return MediaPage(page, self.page_tokens.issue(page[-1], owner) if more and page else "")


class PageTokens:
    """Opaque page tokens: ``base64url(json position) . base64url(HMAC)``, bound to a scope
    (the owner, for ListMedia; the filter, for ListMediaEvents).

    A token is checked for size and its HMAC before anything parses it, so a forged or
    hostile token (deep JSON nesting, another owner's position) is INVALID_ARGUMENT.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key

    def issue(self, last: Media, owner_id: str) -> str:
        return self.issue_position([last.created_at.isoformat(), last.id], owner_id)

    def read(self, token: str, owner_id: str) -> tuple[datetime, str] | None:
        position = self.read_position(token, owner_id)
        if position is None:
            return None
        try:
            created_at, media_id = position
            return datetime.fromisoformat(str(created_at)), str(media_id)
        except (ValueError, TypeError):
            raise _bad_token("is not one this service issued for this listing") from None

    def issue_position(self, position: list[str | int], scope: str) -> str:
        """A token for ``position`` in the listing named by ``scope`` (the owner, for
        ListMedia): it reads back only for the same scope."""
        payload = json.dumps(position).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload, scope))}"

    def read_position(self, token: str, scope: str) -> list[str | int] | None:
        """The position ``token`` was issued for in ``scope``; None for no token."""
        if not token:
            return None
        if len(token) > MAX_PAGE_TOKEN_CHARS:
            raise _bad_token(f"is longer than {MAX_PAGE_TOKEN_CHARS} characters")
        try:
            body, _, mac = token.partition(".")
            payload = base64.urlsafe_b64decode(body.encode("ascii"))
            valid = hmac.compare_digest(
                base64.urlsafe_b64decode(mac.encode("ascii")), self._mac(payload, scope)
            )
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            raise _bad_token("is not one this service issued for this listing")
        try:
            position = json.loads(payload)
        except ValueError:
            position = None
        if not isinstance(position, list):
            raise _bad_token("is not one this service issued for this listing")
        return position

    def _mac(self, payload: bytes, scope: str) -> bytes:
        signed = scope.encode() + b"\0" + payload
        return hmac.new(self.key, signed, hashlib.sha256).digest()[:PAGE_TOKEN_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _bad_token(why: str) -> InvalidArgument:
    return InvalidArgument(
        f"page_token {why}; pass the next_page_token of the previous page, or none",
        field="page_token",
    )


def _original_key(media: Media) -> str | None:
    """Where the original is now: the upload key until the job froze it (before PROCESSING),
    then the frozen copy; after a failure only where the job kept it; nothing otherwise."""
    if media.status is Status.UPLOADED:
        return media.storage_key
    if media.status in (Status.PROCESSING, Status.READY):
        return frozen_original_key(media.objects_key)
    if (
        media.status is Status.FAILED
        and media.failure
        and media.failure.reason in _KEPT_AFTER_FAILURE
    ):
        return frozen_original_key(media.storage_key)
    return None
