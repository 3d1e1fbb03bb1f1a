"""A 150-pixel WebP thumbnail: the small real stage the transport's unit tests run (test-only)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import FailureReason, Variant, VariantKind
from media_grpc.domain.stage import MediaRejected, OutputObject, StageJob, StageOutcome, StageResult

#: Longest side of the thumbnail, in pixels.
SIZE = 150
FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
KEY = "thumb.webp"
CACHE_CONTROL = "public, max-age=31536000, immutable"


def run(job: StageJob, source_path: Path, work_dir: Path, settings: ImageSettings) -> StageResult:
    try:
        with Image.open(source_path, formats=FORMATS) as image:
            width, height = image.size
            if width * height > settings.max_pixels:
                raise MediaRejected(
                    FailureReason.TOO_MANY_PIXELS,
                    f"{width}x{height} is more than {settings.max_pixels} pixels",
                )
            image.load()
            thumb = (ImageOps.exif_transpose(image) or image).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise MediaRejected(FailureReason.CORRUPT, f"not a readable image: {e}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise MediaRejected(FailureReason.CORRUPT, f"image data is damaged: {e}") from None
    thumb.thumbnail((SIZE, SIZE))
    path = work_dir / KEY
    thumb.save(path, "WEBP", quality=80)
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        objects=(OutputObject(path, KEY, "image/webp", CACHE_CONTROL),),
        variants=(
            Variant(
                name="thumb",
                kind=VariantKind.IMAGE,
                storage_key=KEY,
                width=thumb.width,
                height=thumb.height,
                mime_type="image/webp",
                size_bytes=path.stat().st_size,
            ),
        ),
        width=width,
        height=height,
    )
