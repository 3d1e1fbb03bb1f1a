"""What the media record keeps of an original's EXIF: camera and capture time, never GPS.

EXIF is untrusted input: values are decoded leniently, stripped of control characters and cut
to a bounded length. The GPS IFD is never read.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime

from PIL import Image, ImageFile

#: EXIF tag ids (TIFF/EXIF 2.3).
_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011

#: Longest text value kept on the record, in characters.
MAX_VALUE_LENGTH = 64

#: EXIF orientation -> the transpose that shows the image upright (as ``ImageOps.exif_transpose``).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_exif(image: ImageFile.ImageFile) -> Image.Exif:
    """The image's EXIF (empty when absent or unreadable: EXIF never fails a stage)."""
    try:
        return image.getexif()
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, AttributeError):
        return Image.Exif()  # type: ignore[no-untyped-call]


def orientation(exif: Image.Exif) -> int:
    """The EXIF orientation, 1 (upright) when absent or invalid."""
    value = exif.get(_ORIENTATION, 1)
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def upright(image: Image.Image, exif_orientation: int) -> Image.Image:
    """``image`` turned as its EXIF orientation says (the same image when already upright)."""
    method = _TRANSPOSE.get(exif_orientation)
    return image if method is None else image.transpose(method)


def upright_size(size: tuple[int, int], exif_orientation: int) -> tuple[int, int]:
    """Width and height once turned upright (orientations 5-8 swap them)."""
    return (size[1], size[0]) if exif_orientation >= 5 else size


def summarize(exif: Image.Exif) -> dict[str, str]:
    """``camera_make``, ``camera_model`` and ``taken_at`` (ISO 8601) where the EXIF has them."""
    summary: dict[str, str] = {}
    for key, tag in (("camera_make", _MAKE), ("camera_model", _MODEL)):
        text = _text(exif.get(tag))
        if text:
            summary[key] = text
    try:
        exif_ifd = exif.get_ifd(_EXIF_IFD)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, AttributeError):
        exif_ifd = {}
    taken_at = _taken_at(
        _text(exif_ifd.get(_DATE_TIME_ORIGINAL)), _text(exif_ifd.get(_OFFSET_TIME_ORIGINAL))
    )
    if taken_at:
        summary["taken_at"] = taken_at
    return summary


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value).strip()[:MAX_VALUE_LENGTH]


def _taken_at(stamp: str, offset: str) -> str:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ ``+HH:MM`` offset) as ISO 8601; "" when malformed."""
    try:
        taken = datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return ""
    if offset:
        with contextlib.suppress(ValueError):
            taken = datetime.strptime(f"{stamp} {offset}", "%Y:%m:%d %H:%M:%S %z")
    return taken.isoformat()
