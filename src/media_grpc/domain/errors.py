"""Domain errors. The API layer maps each class to one gRPC status code in api/errors.py."""

from __future__ import annotations

from collections.abc import Sequence


class MediaError(Exception):
    """Base of every error the service layer raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(MediaError):
    """A request field is malformed or out of bounds."""

    def __init__(self, message: str, *, field: str = "", limit: str = "", value: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit
        self.value = value


def check_at_most(count: int, limit: int, *, field: str, message: str) -> None:
    """InvalidArgument naming ``field`` when ``count`` passes ``limit``; ``message`` may say
    ``{count}`` and ``{limit}``, and both go to the BadRequest detail."""
    if count > limit:
        raise InvalidArgument(
            message.format(count=count, limit=limit),
            field=field,
            limit=str(limit),
            value=str(count),
        )


class MediaNotFound(MediaError):
    """No such media, or not visible to the caller."""


class PermissionDenied(MediaError):
    """The caller may not do this to this media."""


class Unauthenticated(MediaError):
    """No valid credentials."""


class FailedPrecondition(MediaError):
    """The media is not in a state that allows the call (e.g. completing a FAILED upload).

    ``violations`` are ``(type, subject, description)`` triples, e.g.
    ``("ALREADY_ATTACHED", "media/<id>", "media <id> is already attached to post 7")``.
    """

    def __init__(self, message: str, *, violations: Sequence[tuple[str, str, str]] = ()) -> None:
        super().__init__(message)
        self.violations = list(violations)


class AlreadyExists(MediaError):
    """An idempotency key was reused with different parameters."""


class Conflict(MediaError):
    """A concurrent change won (e.g. a media attached to another post); retrying may succeed."""


class VerificationFailed(MediaError):
    """The uploaded object did not pass verification; the media is now FAILED."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ResourceExhausted(MediaError):
    """A rate limit or quota was hit; `retry_after_seconds` says when to try again."""

    def __init__(self, message: str, *, retry_after_seconds: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(MediaError):
    """A dependency (storage, database, broker) is down; retrying later may succeed."""
