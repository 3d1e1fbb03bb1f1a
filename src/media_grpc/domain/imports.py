"""Imports from legacy URLs: the record that makes them idempotent, and the fetch policy.

The policy decides which URLs the server may fetch: only allowlisted hosts, only http(s), and
only public addresses, so that an import can never reach into the network the server runs in
(cloud metadata, databases, admin ports). A host listed exactly is trusted with any address.
"""

from __future__ import annotations

import hashlib
import ipaddress
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


def host_listed_exactly(host: str, allowed: list[str]) -> bool:
    return _normal(host) in {_normal(entry) for entry in allowed if not entry.startswith(".")}


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Exact names, or ``.suffix`` entries matching the domain and its subdomains."""
    name = _normal(host)
    if not name:
        return False
    for entry in allowed:
        wanted = _normal(entry)
        if wanted.startswith("."):
            if name == wanted[1:] or name.endswith(wanted):
                return True
        elif name == wanted:
            return True
    return False


def address_allowed(address: str) -> bool:
    """Only globally routable unicast addresses: no private, loopback, link-local (cloud
    metadata at 169.254.169.254), shared (100.64/10), multicast or reserved ranges."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _normal(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


class ImportRefused(VerificationFailed):
    """An import that cannot succeed as asked: the reason is an ``ImportReason``."""

    def __init__(self, reason: ImportReason, message: str) -> None:
        super().__init__(message, reason=reason.value)
        self.import_reason = reason
