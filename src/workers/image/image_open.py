"""Opening an untrusted image: only allowed formats, bounded pixels and frames, whole files.

Every refusal is a ``MediaRejected`` with a reason code; nothing is decoded before the header
has been checked against the limits.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

from media_grpc.domain.failure_text import describe
from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected

#: Pillow reports a JPEG carrying an MPO index (many phone photos) as MPO: same decoder.
_FORMAT_ALIASES = {"MPO": "JPEG"}


def register_plugins() -> None:
    """Teach Pillow to read HEIC/HEIF (pillow-heif); safe to call any number of times."""
    pillow_heif.register_heif_opener()


def openable(formats: Sequence[str]) -> list[str]:
    """The subset of ``formats`` this Pillow can open (``Image.open`` fails on unknown names)."""
    register_plugins()
    Image.init()
    return [name.upper() for name in formats if name.upper() in Image.OPEN]


@contextmanager
def decoding_limits(max_pixels: int) -> Iterator[None]:
    """Pillow's process-wide decoding limits for the duration of a stage, then restored.

    ``Image.MAX_IMAGE_PIXELS`` is set to ``max_pixels`` and its DecompressionBombWarning made an
    error; truncated files fail to load. Not thread-safe: a worker runs one stage at a time.
    """
    saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    Image.MAX_IMAGE_PIXELS = max_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


@contextmanager
def open_checked(
    path: Path, formats: Sequence[str], max_pixels: int, max_frames: int
) -> Iterator[ImageFile.ImageFile]:
    """Open ``path`` (header only) as one of ``formats`` within the limits; closes on exit.

    Must run inside :func:`decoding_limits`. Raises MediaRejected: UNSUPPORTED_FORMAT for
    anything not an image of an allowed format, TOO_MANY_PIXELS above ``max_pixels``,
    LIMIT_EXCEEDED above ``max_frames``, CORRUPT for a header Pillow cannot parse.
    """
    allowed = openable(formats)
    try:
        image = Image.open(path, formats=allowed)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRejected(FailureReason.TOO_MANY_PIXELS, _over_pixel_limit(max_pixels)) from None
    except UnidentifiedImageError:
        claimed = _claimed_format(path, allowed)
        if claimed:
            raise MediaRejected(
                FailureReason.CORRUPT, f"starts as {claimed} but its header is broken"
            ) from None
        raise MediaRejected(
            FailureReason.UNSUPPORTED_FORMAT,
            f"not an image in an allowed format ({', '.join(allowed)})",
        ) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise MediaRejected(
            FailureReason.CORRUPT, f"unreadable image header: {describe(e)}"
        ) from None
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise MediaRejected(FailureReason.CORRUPT, f"image declares {width}x{height}")
        if width * height > max_pixels:
            raise MediaRejected(
                FailureReason.TOO_MANY_PIXELS, _over_pixel_limit(max_pixels, (width, height))
            )
        frames = frame_count(image)
        if frames > max_frames:
            raise MediaRejected(
                FailureReason.LIMIT_EXCEEDED, f"{frames} frames, more than {max_frames}"
            )
        yield image


def _claimed_format(path: Path, allowed: Sequence[str]) -> str:
    """The allowed format whose signature the file starts with, "" for none."""
    with path.open("rb") as file:
        prefix = file.read(16)
    for name in allowed:
        accept = Image.OPEN[name][1]
        if accept is not None and accept(prefix):
            return name
    return ""


def frame_count(image: ImageFile.ImageFile) -> int:
    """Frames the file declares (GIF walks its blocks without decoding them)."""
    try:
        frames = int(getattr(image, "n_frames", 1))
    except (OSError, EOFError, ValueError, SyntaxError) as e:
        raise MediaRejected(FailureReason.CORRUPT, f"unreadable frames: {describe(e)}") from None
    image.seek(0)
    return frames


def format_name(image: ImageFile.ImageFile) -> str:
    """The Pillow format of ``image``, with MPO reported as the JPEG it is."""
    name = image.format or "UNKNOWN"
    return _FORMAT_ALIASES.get(name, name)


def load_first_frame(image: ImageFile.ImageFile) -> Image.Image:
    """Decode the first frame (after any ``draft``); a truncated or broken file is CORRUPT."""
    try:
        image.seek(0)
        image.load()  # type: ignore[no-untyped-call]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = Image.MAX_IMAGE_PIXELS or 0  # set by decoding_limits
        raise MediaRejected(FailureReason.TOO_MANY_PIXELS, _over_pixel_limit(limit)) from None
    except (OSError, ValueError, SyntaxError, EOFError, zlib.error) as e:
        raise MediaRejected(FailureReason.CORRUPT, f"cannot decode image: {describe(e)}") from None
    return image


def _over_pixel_limit(max_pixels: int, size: tuple[int, int] | None = None) -> str:
    """The refusal of an image over the pixel limit in force (Pillow's own text names twice
    its ``MAX_IMAGE_PIXELS``, not the configured limit)."""
    if size is None:
        return f"the image has more pixels than the limit of {max_pixels:,}"
    width, height = size
    return f"{width}x{height} is {width * height:,} pixels, more than the limit of {max_pixels:,}"
