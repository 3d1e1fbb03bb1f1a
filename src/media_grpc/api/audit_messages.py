"""The audit trail's messages: ListMediaEvents' request filter in, its events out."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from media.v1 import media_pb2

from media_grpc.api.messages import timestamp
from media_grpc.domain.audit import ActorKind, AuditAction, EventFilter, MediaEvent


def event_filter(request: media_pb2.ListMediaEventsRequest) -> EventFilter:
    return EventFilter(
        media_id=request.media_id,
        owner_id=request.owner_id,
        since=_moment(request.start_time) if request.HasField("start_time") else None,
        until=_moment(request.end_time) if request.HasField("end_time") else None,
    )


def media_event(event: MediaEvent) -> media_pb2.MediaEvent:
    message = media_pb2.MediaEvent(
        sequence=event.sequence or 0,
        media_id=event.media_id,
        owner_id=event.owner_id,
        actor_kind=_ACTOR_KINDS[event.actor.kind],
        actor=event.actor.subject,
        on_behalf_of=event.actor.on_behalf_of,
        action=_ACTIONS[event.action],
        outcome=event.outcome,
        detail=event.detail,
        request_id=event.request_id,
    )
    if event.occurred_at is not None:
        occurred = event.occurred_at
        # SQLite's CURRENT_TIMESTAMP is UTC without a zone.
        message.occurred_at.CopyFrom(
            timestamp(occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC))
        )
    return message


def _moment(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


_ACTIONS = {
    action: media_pb2.MediaEventAction.Value(f"MEDIA_EVENT_ACTION_{action.name}")
    for action in AuditAction
}
_ACTOR_KINDS = {
    kind: media_pb2.MediaEventActorKind.Value(f"MEDIA_EVENT_ACTOR_KIND_{kind.name}")
    for kind in ActorKind
}
