"""Client file names: metadata only, stored sanitised."""

from __future__ import annotations

import unicodedata

from media_grpc.domain.errors import InvalidArgument

#: Longest file name accepted, in characters, after sanitising.
MAX_FILE_NAME_CHARS = 255
#: Longest raw file name accepted before sanitising, in characters.
MAX_RAW_FILE_NAME_CHARS = 1024


def sanitize_file_name(raw: str) -> str:
    """Keep the last path component, drop control characters, trim to 255 characters.

    Raises InvalidArgument for names that are absurdly long or empty after cleaning.
    """
    if len(raw) > MAX_RAW_FILE_NAME_CHARS:
        raise InvalidArgument(
            f"file_name is {len(raw)} characters; at most {MAX_RAW_FILE_NAME_CHARS} are accepted",
            field="file_name",
            limit=str(MAX_RAW_FILE_NAME_CHARS),
            value=str(len(raw)),
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
