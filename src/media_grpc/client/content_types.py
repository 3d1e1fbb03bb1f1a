"""The content type a file is declared with: given by the user, else guessed from its name."""

from __future__ import annotations

import mimetypes
from pathlib import Path

#: MIME types Python's mimetypes may not know.
EXTRA_TYPES = {
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
}


def guess_content_type(path: Path) -> str:
    return (
        EXTRA_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
