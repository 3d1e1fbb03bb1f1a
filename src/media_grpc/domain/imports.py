"""Imports from legacy URLs: the record that makes them idempotent, and why one is refused.

Which URLs the server may fetch is the policy of ``domain/import_policy.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from media_grpc.domain.errors import VerificationFailed
from media_grpc.domain.model import Purpose

#: Longest URL or idempotency key accepted.
MAX_URL_CHARS = 2048


class ImportState(StrEnum):
    #: A server is fetching; another call takes over only after ``lease_until``.
    FETCHING = "FETCHING"
    #: Stored and queued: ``media_id`` is the media.
    IMPORTED = "IMPORTED"
    #: The last attempt failed with ``reason``; importing again tries once more.
    FAILED = "FAILED"


class ImportReason(StrEnum):
    """Why an import was refused (the ErrorInfo reason and the map's ``reason`` code)."""

    INVALID_URL = "INVALID_URL"
    HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED"
    SCHEME_NOT_ALLOWED = "SCHEME_NOT_ALLOWED"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"
    TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS"
    UNREACHABLE = "UNREACHABLE"
    HTTP_ERROR = "HTTP_ERROR"
    TIMEOUT = "TIMEOUT"
    TOO_LARGE = "TOO_LARGE"
    EMPTY = "EMPTY"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    #: The import stopped on an error of the server's own; importing again tries once more.
    INTERRUPTED = "INTERRUPTED"


@dataclass
class ImportRecord:
    """One legacy URL's import. ``key`` is the sha256 of the idempotency key."""

    key: str
    source_url: str
    owner_id: str
    purpose: Purpose
    state: ImportState
    media_id: str
    attempts: int
    lease_until: datetime
    created_at: datetime
    updated_at: datetime
    post_id: str | None = None
    post_position: int = 0
    reason: str | None = None
    message: str | None = None


def import_key(idempotency_key: str) -> str:
    """The record key of an idempotency key (URLs are too long for an index)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


class ImportRefused(VerificationFailed):
    """An import that cannot succeed as asked: the reason is an ``ImportReason``."""

    def __init__(self, reason: ImportReason, message: str) -> None:
        super().__init__(message, reason=reason.value)
        self.import_reason = reason
