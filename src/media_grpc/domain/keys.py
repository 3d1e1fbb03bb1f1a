"""Storage keys. File names are metadata only: a key is built from the owner, time and an id."""

from __future__ import annotations

import re
from datetime import datetime

from media_grpc.domain.model import Purpose

#: Extension of the original's key, by declared MIME type.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
}

_SAFE_OWNER = re.compile(r"[^A-Za-z0-9_.-]")

#: Private prefix the presigned upload URLs point at: never anonymously readable.
UPLOADS_PREFIX = "uploads/"
#: Private prefix of the frozen copy the processing job makes of an upload.
ORIGINALS_PREFIX = "originals/"
#: Private prefixes: anything under them is an original, served only by a presigned GET.
PRIVATE_PREFIXES = (UPLOADS_PREFIX, ORIGINALS_PREFIX)
#: Public prefixes: only what the worker made (variants, posters, HLS) is anonymously readable.
PUBLIC_PREFIXES = ("variants/", "transcoded/")


def original_key(
    purpose: Purpose, owner_id: str, media_id: str, content_type: str, now: datetime
) -> str:
    """``uploads/posts/{owner}/{timestamp}-{id}.{ext}`` or ``uploads/profiles/{owner}/...``.

    The original lives under the private :data:`UPLOADS_PREFIX`; its derivatives are public.
    """
    folder = "profiles" if purpose is Purpose.PROFILE_IMAGE else "posts"
    owner = _SAFE_OWNER.sub("_", owner_id)[:128] or "_"
    ext = EXTENSIONS.get(content_type, "bin")
    return f"{UPLOADS_PREFIX}{folder}/{owner}/{now.strftime('%Y%m%dT%H%M%SZ')}-{media_id}.{ext}"


def output_prefix(storage_key: str, *, video: bool) -> str:
    """Prefix of a media's derived objects: ``variants/{key}/`` or ``transcoded/{key}/``.

    The private prefix of the original (``uploads/`` or ``originals/``) is not part of it, so
    ``uploads/posts/o/t-id.jpg`` gives ``variants/posts/o/t-id/``; a key of the old layout
    (``posts/o/t-id.jpg``, before originals became private) gives the same prefix.
    """
    stem = storage_key.rsplit(".", 1)[0]
    for private in PRIVATE_PREFIXES:
        if stem.startswith(private):
            stem = stem[len(private) :]
            break
    return f"{'transcoded' if video else 'variants'}/{stem}/"


#: Prefix of the keys presigned URLs write to.
UPLOADS_PREFIX = "uploads/"
#: Prefix of the frozen originals: private, and no URL is ever issued for them.
ORIGINALS_PREFIX = "originals/"


def frozen_original_key(storage_key: str) -> str:
    """Where the processing job freezes an upload: ``uploads/x`` becomes ``originals/x``.

    A key from before the ``uploads/`` prefix (``posts/...``) becomes ``originals/posts/...``.
    """
    return ORIGINALS_PREFIX + storage_key.removeprefix(UPLOADS_PREFIX)
