"""The one shape every processing stage has.

A stage module (``workers/stages/generate_image_variants.py``, ``encode_video_ladder.py``, ...)
exposes ``run(job, source_path, work_dir, settings) -> StageResult``. It reads the original from
``source_path``, writes its outputs as files under ``work_dir`` and returns what it made; the
transport uploads them and records the result. Stages never touch the broker, the database or
storage, so they are tested with a small file and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from media_grpc.domain.model import FailureReason, Purpose, Variant


class StageOutcome(StrEnum):
    """How a stage ended when it returns. A stage that cannot make its outputs raises instead:
    ``MediaRejected`` when the file is at fault (never retried), any other error otherwise
    (retried)."""

    SUCCESS = "success"


@dataclass(frozen=True)
class StageJob:
    """What a stage needs to know of the media it processes."""

    media_id: str
    owner_id: str
    purpose: Purpose
    mime_type: str
    storage_key: str


@dataclass(frozen=True)
class OutputObject:
    """A file a stage wrote, to be uploaded under the media's output prefix.

    ``key`` is relative to that prefix (e.g. ``w600.webp``, ``hls/720p/seg_00001.ts``) and
    deterministic, so a retry overwrites instead of duplicating.
    """

    path: Path
    key: str
    content_type: str
    cache_control: str


@dataclass(frozen=True)
class StageResult:
    """What a stage made. Variant ``storage_key`` values are relative to the output prefix."""

    outcome: StageOutcome
    objects: tuple[OutputObject, ...] = ()
    variants: tuple[Variant, ...] = ()
    width: int = 0
    height: int = 0
    duration_ms: int = 0
    #: Facts for the media record (camera, taken_at, codecs, placeholder, ...). Never GPS.
    metadata: dict[str, str] = field(default_factory=dict)
    #: Relative key of the HLS master playlist, for videos.
    hls_key: str | None = None


class MediaRejected(Exception):
    """The file itself is unacceptable (corrupt, too big, wrong format): never retried."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
