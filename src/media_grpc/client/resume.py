"""The small file that lets an interrupted upload resume: ``<file>.upload-state.json``."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

SUFFIX = ".upload-state.json"


def state_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


@dataclass
class UploadState:
    """What was agreed with the server and which parts storage confirmed (ETags)."""

    address: str
    media_id: str
    size_bytes: int
    mtime_ns: int
    purpose: str
    part_size: int = 0
    part_count: int = 0
    upload_id: str = ""
    #: Part number (as a string, JSON keys are strings) -> the ETag its PUT returned.
    parts: dict[str, str] = field(default_factory=dict)
    #: Whether CreateUploadSession was told the sha256; if not, CompleteUpload is.
    sha256_declared: bool = True

    def matches(self, address: str, path: Path, purpose: str) -> bool:
        """Still about the same file, unchanged, for the same server and purpose."""
        stat = path.stat()
        return (self.address, self.size_bytes, self.mtime_ns, self.purpose) == (
            address,
            stat.st_size,
            stat.st_mtime_ns,
            purpose,
        )


class StateFile:
    """Reads and atomically rewrites the state; safe to call from several upload threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> UploadState | None:
        try:
            raw = json.loads(self.path.read_text())
            return UploadState(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, state: UploadState) -> None:
        with self._lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(asdict(state), indent=1, sort_keys=True))
            os.replace(tmp, self.path)

    def part_done(self, state: UploadState, part_number: int, etag: str) -> None:
        with self._lock:
            state.parts[str(part_number)] = etag
        self.save(state)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
