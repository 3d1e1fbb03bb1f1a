"""What an ImportMedia call asks for, and the checks of it before anything is fetched."""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.domain.errors import AlreadyExists, InvalidArgument, check_at_most
from media_grpc.domain.ids import check_owner_id, check_post_id
from media_grpc.domain.imports import MAX_URL_CHARS, ImportRecord
from media_grpc.domain.model import Media, Purpose


@dataclass(frozen=True)
class ImportRequest:
    url: str
    owner_id: str
    purpose: Purpose
    post_id: str = ""
    post_position: int = 0
    #: Empty: the URL itself.
    idempotency_key: str = ""
    #: Check the URL against the policy only.
    validate_only: bool = False


@dataclass(frozen=True)
class ImportResult:
    media: Media | None
    #: False when an earlier import of the same key was returned.
    created: bool


def check_import_request(request: ImportRequest) -> None:
    if not request.url or len(request.url) > MAX_URL_CHARS:
        raise InvalidArgument(
            f"url must be 1 to {MAX_URL_CHARS} characters",
            field="url",
            limit=f"{MAX_URL_CHARS} characters",
            value=str(len(request.url)),
        )
    if any(ord(c) < 32 for c in request.url + request.idempotency_key):
        raise InvalidArgument("url and idempotency_key must not contain control characters")
    if not request.owner_id:
        raise InvalidArgument(
            "owner_id is required: the user the media belongs to", field="owner_id"
        )
    check_owner_id(request.owner_id)
    if request.post_id:
        check_post_id(request.post_id)
    check_at_most(
        len(request.idempotency_key),
        MAX_URL_CHARS,
        field="idempotency_key",
        message="idempotency_key must be at most {limit} characters",
    )
    if request.post_position < 0:
        raise InvalidArgument(
            "post_position must be 0 or more",
            field="post_position",
            value=str(request.post_position),
        )


def check_same_import(record: ImportRecord, request: ImportRequest) -> None:
    if (record.source_url, record.owner_id, record.purpose) != (
        request.url,
        request.owner_id,
        request.purpose,
    ):
        raise AlreadyExists(
            "this idempotency key was used for another import (URL, owner or purpose differ); "
            "use a new key for a different import"
        )
