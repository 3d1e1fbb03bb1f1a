"""Client file names: metadata only, stored sanitised."""

from __future__ import annotations

import unicodedata

from media_grpc.domain.errors import check_at_most

#: Longest file name accepted, in characters, after sanitising.
MAX_FILE_NAME_CHARS = 255
#: Longest raw file name accepted before sanitising, in characters.
MAX_RAW_FILE_NAME_CHARS = 1024


def sanitize_file_name(raw: str) -> str:
    """Keep the last path component, drop control characters, trim to 255 characters.

    Raises InvalidArgument for names that are absurdly long or empty after cleaning.
    """
    check_at_most(
        len(raw),
        MAX_RAW_FILE_NAME_CHARS,
        field="file_name",
        message="file_name is {count} characters; at most {limit} are accepted",
    )
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = unicodedata.normalize("NFC", name).strip().lstrip(".")
    if len(name) > MAX_FILE_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_FILE_NAME_CHARS - len(ext) - 1] + dot + ext)
            if dot and len(ext) <= 16
            else name[:MAX_FILE_NAME_CHARS]
        )
    return name or "upload"
