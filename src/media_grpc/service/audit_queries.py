"""ListMediaEvents: reading the audit trail, a page at a time, for service principals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from media_grpc.domain.audit import EventFilter, MediaEvent
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.ids import check_media_id, check_owner_id
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.queries import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageTokens


@dataclass(frozen=True)
class EventPage:
    events: list[MediaEvent]
    next_page_token: str


class AuditQueries:
    """ListMediaEvents: for service principals only (a user's own history is not theirs to
    read here: the post service and operators answer such questions). Page tokens are signed
    and bound to the filter they were issued for, as ListMedia's are to their owner."""

    def __init__(self, ctx: ServiceContext, page_tokens: PageTokens) -> None:
        self.ctx = ctx
        self.page_tokens = page_tokens

    def list(
        self,
        principal: Principal,
        which: EventFilter,
        *,
        page_size: int,
        page_token: str,
    ) -> EventPage:
        principal.require_service("ListMediaEvents")
        check_media_id(which.media_id)
        check_owner_id(which.owner_id)
        if which.since and which.until and which.since >= which.until:
            raise InvalidArgument("start_time must be before end_time", field="start_time")
        if page_size < 0 or page_size > MAX_PAGE_SIZE:
            raise InvalidArgument(
                f"page_size must be between 0 and {MAX_PAGE_SIZE}",
                field="page_size",
                limit=f"0..{MAX_PAGE_SIZE}",
                value=str(page_size),
            )
        limit = page_size or DEFAULT_PAGE_SIZE
        scope = _scope(which)
        position = self.page_tokens.read_position(page_token, scope)
        after = _sequence(position) if position is not None else None
        with (self.ctx.read or self.ctx.uow)() as uow:
            found = uow.events.page(which, after, limit + 1)
        page, more = found[:limit], len(found) > limit
        token = ""
        if more and page and page[-1].sequence is not None:
            token = self.page_tokens.issue_position([page[-1].sequence], scope)
        return EventPage(page, token)


def _scope(which: EventFilter) -> str:
    """What a page token is bound to: the listing's filter (another filter's token is refused)."""
    return "\0".join(
        [
            "events",
            which.media_id,
            which.owner_id,
            _time(which.since),
            _time(which.until),
        ]
    )


def _time(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _sequence(position: list[str | int]) -> int:
    if len(position) == 1 and isinstance(position[0], int):
        return position[0]
    raise InvalidArgument(
        "page_token is not one this service issued for this listing; pass the "
        "next_page_token of the previous page, or none",
        field="page_token",
    )
