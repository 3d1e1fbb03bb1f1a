"""The audit trail: one event for every change to a media, written with the change.

An event says who acted (a user, a service acting for an owner, or the system: workers and
the cleanup), on which media of which owner, what they did and how it ended. It never holds a
secret: no token, no presigned URL. The time comes from the database's clock when the event is
stored, so events of several servers order by one clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from media_grpc.domain.principal import Principal


class AuditAction(enum.StrEnum):
    SESSION_CREATED = "session_created"
    UPLOAD_COMPLETED = "upload_completed"
    UPLOAD_REFUSED = "upload_refused"
    UPLOAD_ABORTED = "upload_aborted"
    PROCESSING_STARTED = "processing_started"
    PROCESSING_READY = "processing_ready"
    PROCESSING_FAILED = "processing_failed"
    ATTACHED = "attached"
    DETACHED = "detached"
    PROFILE_REPLACED = "profile_replaced"
    DELETED = "deleted"
    PURGED = "purged"
    IMPORTED = "imported"
    RETRIED = "retried"
    RESTORED = "restored"


class ActorKind(enum.StrEnum):
    USER = "user"
    SERVICE = "service"
    #: The service itself: a worker's job, the lifecycle cleanup.
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acted: a user for themselves, a service (``on_behalf_of`` the owner it named), or
    the system."""

    kind: ActorKind
    subject: str
    on_behalf_of: str = ""

    @staticmethod
    def of(principal: Principal, owner_id: str) -> Actor:
        if principal.is_service:
            return Actor(ActorKind.SERVICE, principal.subject, owner_id)
        return Actor(ActorKind.USER, principal.subject)

    @staticmethod
    def system(subject: str) -> Actor:
        return Actor(ActorKind.SYSTEM, subject)


#: The system actors.
WORKER = Actor.system("worker")
CLEANUP = Actor.system("cleanup")


@dataclass(frozen=True)
class MediaEvent:
    """One change to one media. ``occurred_at`` and ``sequence`` are the store's, set when it
    is recorded (None before)."""

    media_id: str
    owner_id: str
    actor: Actor
    action: AuditAction
    #: "ok", or the failure reason's code (e.g. "CORRUPT") for a refusal or a failure.
    outcome: str = "ok"
    #: A readable detail: the failure message, the post id attached to, ... Never a secret.
    detail: str = ""
    request_id: str = ""
    occurred_at: datetime | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class EventFilter:
    """Which events a listing returns: all of them when every field is empty."""

    media_id: str = ""
    owner_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
