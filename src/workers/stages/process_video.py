"""Stage: everything a POST_VIDEO gets, for the transport to call once per job.

``run`` probes (caps checked before anything is decoded), refuses a file cut short (every
sample its index lists must be in it, see workers/video/whole_file), extracts the poster set
and encodes the HLS ladder into one StageResult; the stage registry runs it in a stage pool
child killed after ``job_time_limit_seconds``. On any failure the outputs written so far are
removed, so nothing half-written can be uploaded or referenced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from media_grpc.config.video import VideoSettings
from media_grpc.domain.stage import StageJob, StageOutcome, StageResult
from workers.stages import encode_video_ladder, extract_poster_frame
from workers.stages.probe_media import probe
from workers.video.whole_file import require_every_sample

#: Subdirectories of ``work_dir`` the stage writes.
OUTPUT_DIRS = ("poster", "hls")


def remove_outputs(work_dir: Path) -> None:
    for name in OUTPUT_DIRS:
        shutil.rmtree(work_dir / name, ignore_errors=True)


def run(job: StageJob, source_path: Path, work_dir: Path, settings: VideoSettings) -> StageResult:
    """Probe, poster set and ladder. Raises MediaRejected for unacceptable files."""
    try:
        found = probe(source_path, settings)
        require_every_sample(source_path, settings.allowed_containers)
        poster = extract_poster_frame.extract(source_path, work_dir, settings, found)
        ladder = encode_video_ladder.encode(source_path, work_dir, settings, found)
    except BaseException:
        remove_outputs(work_dir)
        raise
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        objects=poster.objects + ladder.objects,
        variants=poster.variants + ladder.variants,
        width=found.width,
        height=found.height,
        duration_ms=found.duration_ms,
        metadata={**ladder.metadata, **poster.metadata},
        hls_key=ladder.hls_key,
    )
