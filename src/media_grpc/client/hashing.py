"""The sha256 of a file, declared to CreateUploadSession or given to CompleteUpload."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

#: A size for ``Uploader(hash_while_sending_bytes=...)``: files at least this large hashed
#: while they are sent (read once, their sha256 given to CompleteUpload) instead of before
#: (read twice, declared to CreateUploadSession). The default hashes every file before, so
#: that a file the owner already uploaded is never sent again (the service's dedupe).
HASH_WHILE_SENDING_BYTES = 64 * 1024 * 1024


def file_sha256(path: Path, stop: threading.Event | None = None) -> str:
    """The file's hex sha256; "" when ``stop`` is set before the end."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            if stop is not None and stop.is_set():
                return ""
            digest.update(chunk)
    return digest.hexdigest()
