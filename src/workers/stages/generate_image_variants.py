"""Stage: the variants of an uploaded image (POST_IMAGE ladder, PROFILE_IMAGE square crops).

One decode per job: the header is checked against the limits, a JPEG is decoded at the
smallest DCT scale that still covers the largest variant (``draft``), the EXIF orientation is
applied, and the ladder derives every variant from that one decoded frame. See docs/images.md.
"""

from __future__ import annotations

from pathlib import Path

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import FailureReason, Purpose
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome, StageResult
from workers.image import exif_summary
from workers.image.image_ladder import fit_within, render_image_variants
from workers.image.image_open import (
    decoding_limits,
    format_name,
    frame_count,
    load_first_frame,
    open_checked,
    register_plugins,
)
from workers.image.placeholder import blurhash_of


def run(job: StageJob, source_path: Path, work_dir: Path, settings: ImageSettings) -> StageResult:
    """Make the variants of ``source_path`` under ``work_dir``; MediaRejected for bad files."""
    if job.purpose.is_video:
        raise MediaRejected(FailureReason.UNSUPPORTED_FORMAT, "a video has no image variants")
    register_plugins()
    square = job.purpose is Purpose.PROFILE_IMAGE
    formats = settings.profile_formats if square else settings.post_formats
    sizes = settings.profile_sizes if square else settings.post_sizes
    full_size = 0 if square else settings.full_size_max
    largest = max([*sizes, 0 if square else settings.jpeg_fallback_size, full_size])
    with (
        decoding_limits(settings.max_pixels),
        open_checked(source_path, formats, settings.max_pixels, settings.max_frames) as image,
    ):
        metadata = {"original_format": format_name(image), "frames": str(frame_count(image))}
        raw_size = image.size
        # Orientation turns the image by quarter turns only, so the raw-orientation box that
        # covers the largest variant is the same either way.
        image.draft(None, (largest, largest) if square else fit_within(raw_size, largest))
        # Decode before anything else reads the file: Pillow's PNG getexif() decodes the
        # whole image to find a trailing eXIf chunk, and once a decode has failed, a later
        # load() returns the half-decoded picture without an error.
        decoded = load_first_frame(image)
        exif = exif_summary.read_exif(image)
        metadata.update(exif_summary.summarize(exif))
        turn = exif_summary.orientation(exif)
        width, height = exif_summary.upright_size(raw_size, turn)
        frame = exif_summary.upright(decoded, turn)
        ladder = render_image_variants(
            frame, work_dir, settings, sizes=sizes, square=square, full_size=full_size
        )
        metadata["placeholder"] = blurhash_of(ladder.smallest)
        metadata["placeholder_format"] = "blurhash"
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        objects=ladder.objects,
        variants=ladder.variants,
        width=width,
        height=height,
        metadata=metadata,
    )
