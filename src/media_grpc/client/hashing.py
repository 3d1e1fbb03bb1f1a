"""The sha256 of a file, declared to CreateUploadSession or given to CompleteUpload."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

#: Files at least this large are hashed while they are sent, so that they are read once, and
#: their sha256 goes to CompleteUpload; smaller ones are hashed first and declared to
#: CreateUploadSession, where a single PUT's URL signs it.
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
