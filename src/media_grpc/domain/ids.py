"""Ids that come in with requests (owner, post, media): checked before anything uses them.

An owner id becomes a segment of storage keys (``posts/{owner}/...``), so ids that may end up in
a key must not contain ``/`` nor be a dot-only segment (``.``, ``..``). Every id is at most
``MAX_ID_CHARS`` characters (the database columns hold 128) with no control characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from media_grpc.domain.errors import InvalidArgument

#: Longest id accepted, in characters.
MAX_ID_CHARS = 128
#: Characters of an offending value echoed back in an error message.
ECHO_CHARS = 40
#: The refusal of a call naming more media than it takes (a ``check_at_most`` message).
MEDIA_IDS_PER_CALL = "at most {limit} media_ids per call, got {count}"


def echo(value: str, limit: int = ECHO_CHARS) -> str:
    """``value`` as an error message may quote it: cut, with control characters escaped."""
    text = value[:limit].encode("unicode_escape").decode("ascii")
    return text + (f"... ({len(value)} chars)" if len(value) > limit else "")


def problem(value: str, *, key_segment: bool = True) -> str | None:
    """What is wrong with ``value`` as an id, or None. Empty ids are the caller's business."""
    if len(value) > MAX_ID_CHARS:
        return f"is {len(value)} characters long; at most {MAX_ID_CHARS} are allowed"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        return "contains a control character"
    if key_segment and "/" in value:
        return 'contains "/"'
    if key_segment and value and set(value) == {"."}:
        return "is a dot-only segment"
    return None


def check_id(value: str, field: str, *, key_segment: bool = True) -> str:
    """``value`` if it is a valid id (or empty), else InvalidArgument naming ``field``."""
    wrong = problem(value, key_segment=key_segment)
    if wrong is not None:
        raise InvalidArgument(
            f"{field} {wrong}",
            field=field,
            limit=f"at most {MAX_ID_CHARS} characters, no control characters"
            + (', no "/", not "." or ".."' if key_segment else ""),
            value=echo(value),
        )
    return value


def check_media_id(value: str) -> str:
    return check_id(value, "media_id")


def check_owner_id(value: str) -> str:
    return check_id(value, "owner_id")


def check_post_id(value: str) -> str:
    """Post ids never become part of a key: only length and control characters are checked."""
    return check_id(value, "post_id", key_segment=False)


def check_ids(values: Iterable[str], field: str) -> None:
    for n, value in enumerate(values):
        check_id(value, f"{field}[{n}]")
