"""Bringing a decoded image to what the encoders take: RGB or RGBA, with an RGB ICC or none.

Colour policy: an embedded RGB ICC profile (sRGB, Display P3, Adobe RGB) is KEPT on every
variant, unchanged; browsers colour-manage WebP and JPEG, and wide-gamut phone photos keep their
gamut. A CMYK original is converted to sRGB through its own profile (plain conversion when it
has none); greyscale becomes RGB and its grey profile is dropped. Nothing else of the original's
metadata (EXIF, XMP, comments) reaches a variant: the ladder empties each rendition's ``info``.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms

#: Modes holding an alpha channel (``P`` carries it as a ``transparency`` entry instead).
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
#: High bit-depth greyscale modes, scaled to 8 bits before conversion (Pillow would clip).
_WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}


def icc_colour_space(icc: bytes) -> str:
    """The data colour space an ICC profile's header declares (``RGB``, ``CMYK``, ``GRAY``...)."""
    return icc[16:20].decode("ascii", "replace").strip() if len(icc) >= 128 else ""


def for_encoding(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """``image`` as RGB(A) (possibly ``image`` itself), and the ICC profile its variants embed."""
    icc = image.info.get("icc_profile") or None
    space = icc_colour_space(icc) if icc else ""
    if image.mode == "CMYK":
        converted = _cmyk_to_srgb(image, icc if space == "CMYK" else None)
        keep: bytes | None = None
    else:
        converted = _to_rgb(image)
        keep = icc if space == "RGB" else None
    return converted, keep


def has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in _WIDE_GREY_MODES:
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("RGB")
    return image.convert("RGBA" if has_alpha(image) else "RGB")


def _cmyk_to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    if icc is not None:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
        else:
            if converted is not None:
                return converted
    return image.convert("RGB")
