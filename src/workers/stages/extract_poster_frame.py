"""Stage: the poster frame, the exact frame shown at ``poster_position`` of the duration.

Seeks to the keyframe at or before the target time and decodes forward to the last frame whose
timestamp is not after it (the frame a player shows at that instant), turns it upright and
writes WebP posters: one at the size of the ladder's top rung and one at most
``poster_small_side`` on its longest side. ``write_posters`` is the only part that knows the
image formats, so it can be replaced by the shared image variant ladder.
"""

from __future__ import annotations

from pathlib import Path

from av.video.frame import VideoFrame
from PIL import Image

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason, Variant, VariantKind
from media_grpc.domain.stage import MediaRejected, OutputObject, StageJob, StageOutcome, StageResult
from workers.stages.probe_media import VideoProbe, probe
from workers.video.ladder import plan_ladder
from workers.video.safe_open import decoding, open_input

POSTER_TYPE = "image/webp"
#: Posters are rewritten only by a reprocess: a day in caches.
POSTER_CACHE = "public, max-age=86400"
_UPRIGHT = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    -90: Image.Transpose.ROTATE_270,
}


def grab_frame(source: Path, found: VideoProbe, settings: VideoSettings) -> VideoFrame:
    """The frame displayed at ``start + poster_position * duration``."""
    target = found.start_seconds + settings.poster_position * found.duration_seconds
    with open_input(source, settings.allowed_containers) as src:
        video = src.streams.video[0]
        video.thread_type = "AUTO"
        time_base = video.time_base
        chosen: VideoFrame | None = None
        with decoding():
            if time_base is not None:
                src.seek(int(target / time_base), stream=video, backward=True, any_frame=False)
            for frame in src.decode(video):
                if frame.time is None:
                    continue
                if chosen is not None and frame.time > target + 1e-6:
                    break
                chosen = frame
    if chosen is None:
        raise MediaRejected(FailureReason.CORRUPT, "no frame decodes at the poster position")
    return chosen


def upright_image(frame: VideoFrame, rotation: int) -> Image.Image:
    image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
    return image.transpose(_UPRIGHT[rotation]) if rotation in _UPRIGHT else image


def write_posters(
    image: Image.Image, size: tuple[int, int], out_dir: Path, settings: VideoSettings
) -> tuple[list[OutputObject], list[Variant]]:
    """The poster set: ``poster.webp`` at ``size`` and ``poster_w{N}.webp`` at most N wide/high."""
    out_dir.mkdir(parents=True, exist_ok=True)
    small = settings.poster_small_side
    scale = min(1.0, small / max(size))
    sizes = {
        "poster": size,
        f"poster_w{small}": (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))),
    }
    objects, variants = [], []
    for name, (w, h) in sizes.items():
        path = out_dir / f"{name}.webp"
        resized = image if image.size == (w, h) else image.resize((w, h), Image.Resampling.LANCZOS)
        resized.save(path, "WEBP", quality=settings.poster_quality, method=4)
        objects.append(OutputObject(path, path.name, POSTER_TYPE, POSTER_CACHE))
        variants.append(
            Variant(
                name=name,
                kind=VariantKind.POSTER,
                storage_key=path.name,
                width=w,
                height=h,
                mime_type=POSTER_TYPE,
                size_bytes=path.stat().st_size,
            )
        )
    return objects, variants


def extract(
    source: Path, work_dir: Path, settings: VideoSettings, found: VideoProbe
) -> StageResult:
    """The posters of an already probed source (see ``run``)."""
    frame = grab_frame(source, found, settings)
    top = plan_ladder(found.width, found.height, settings.rungs)[-1]
    image = upright_image(frame, found.rotation)
    objects, variants = write_posters(image, (top.width, top.height), work_dir / "poster", settings)
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        objects=tuple(objects),
        variants=tuple(variants),
        width=found.width,
        height=found.height,
        duration_ms=found.duration_ms,
        metadata={"poster_time_ms": str(round(float(frame.time or 0.0) * 1000))},
    )


def run(job: StageJob, source_path: Path, work_dir: Path, settings: VideoSettings) -> StageResult:
    """Probe (with the caps) and write the posters under ``work_dir/poster``."""
    return extract(source_path, work_dir, settings, probe(source_path, settings))
