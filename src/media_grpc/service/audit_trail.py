"""The audit trail: one event recorded with each change to a media.

``record`` is called inside the unit of work that makes the change, so that an event exists
exactly when its change was committed. The request id is the one the RPC's logs carry (bound by
the API's observing interceptor); a worker's events carry the job's.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.domain.audit import Actor, ActorKind, AuditAction, MediaEvent
from media_grpc.domain.model import Media
from media_grpc.observability.logs import clip, current_fields

#: Characters kept of an event's detail (a failure message, say).
DETAIL_CHARS = 500


def record(
    uow: AbstractUnitOfWork,
    media: Media,
    actor: Actor,
    action: AuditAction,
    *,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Append one event for ``media`` to the unit of work (it commits with the change)."""
    fields = current_fields()
    request_id = fields.get("request_id") or fields.get("job_id", "")
    uow.events.record(
        MediaEvent(
            media_id=media.id,
            owner_id=media.owner_id,
            actor=actor,
            action=action,
            outcome=outcome,
            detail=clip(detail, DETAIL_CHARS) if detail else "",
            request_id=clip(request_id) if request_id else "",
        )
    )


def calling_service(owner_id: str) -> Actor:
    """The service principal of the current RPC (bound to its logs by the auth interceptor),
    acting for ``owner_id``: for use cases only services may call."""
    return Actor(ActorKind.SERVICE, current_fields().get("subject", ""), owner_id)


def without_secrets(url: str) -> str:
    """``url`` without its query, fragment or user info: a legacy URL may carry a token."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}{parts.path}"
    except ValueError:
        return "(a malformed URL)"
