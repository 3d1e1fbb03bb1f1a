"""What is wrong with a bearer token that is not even a well-formed JWT, in words for the
developer who pasted it (never the decoder's internal message, never the token itself)."""

from __future__ import annotations

import base64
import binascii
import json
import re

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_SEGMENTS = ("header", "payload", "signature")


def malformed(token: str) -> str | None:
    """Why ``token`` is no JWT (``header.payload.signature``, each base64url, the first two
    JSON objects), or None when its shape is right."""
    if token != token.strip():
        return "the bearer token has spaces or line breaks around it"
    parts = token.split(".")
    if len(parts) != 3:
        return (
            f"the bearer token is not a JWT: it has {len(parts)} dot-separated part"
            f"{'' if len(parts) == 1 else 's'}, a JWT has 3 (header.payload.signature)"
        )
    for name, part in zip(_SEGMENTS, parts, strict=True):
        if not part:
            return f"the bearer token's {name} is empty"
        if not _BASE64URL.fullmatch(part) or len(part) % 4 == 1:
            return (
                f"the bearer token's {name} is not base64url (cut short, or characters "
                "other than A-Z, a-z, 0-9, - and _)"
            )
    for name, part in zip(_SEGMENTS[:2], parts[:2], strict=True):
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, binascii.Error, ValueError):
            return f"the bearer token's {name} is not JSON once base64url-decoded"
        if not isinstance(decoded, dict):
            return f"the bearer token's {name} is not a JSON object"
    return None
