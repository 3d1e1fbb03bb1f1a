"""A compact placeholder clients paint before an image loads: a BlurHash string.

BlurHash (https://blurha.sh) keeps the average colour and a few low-frequency components in a
short base83 string; clients decode it with the reference decoders (JS ``blurhash``, Swift,
Kotlin) at the width and height the media record gives, since the hash carries no aspect ratio.
Encoded with ``blurhash-python`` (C, through cffi).

BlurHash has no alpha: a transparent image is flattened onto :data:`PLACEHOLDER_BACKGROUND`
first, a mid grey that sits quietly on light and dark pages alike.
"""

from __future__ import annotations

import warnings

import blurhash
from PIL import Image

#: Longest side, in pixels, of the image fed to the encoder. 4x3 components are the lowest
#: frequencies only, quantised coarsely: a hash of a 32 px input decodes to within a few percent
#: of one of the 150 px variant, and costs ~0.3 ms instead of ~15 ms (the Python wrapper copies
#: every pixel into a list).
PLACEHOLDER_INPUT_SIZE = 32
#: Components along the longer and the shorter side: 4x3 keeps the string at 28 characters.
LONG_SIDE_COMPONENTS = 4
SHORT_SIDE_COMPONENTS = 3
#: RGB that transparent pixels are flattened onto.
PLACEHOLDER_BACKGROUND = (128, 128, 128)


def blurhash_of(image: Image.Image) -> str:
    """The BlurHash of ``image`` (any mode; ``image`` is left as it was), 28 characters.

    4x3 components for a landscape or square image, 3x4 for a portrait one.
    """
    small = _flattened(image)
    small.thumbnail((PLACEHOLDER_INPUT_SIZE, PLACEHOLDER_INPUT_SIZE), Image.Resampling.BOX)
    width, height = small.size
    portrait = height > width
    x_components = SHORT_SIDE_COMPONENTS if portrait else LONG_SIDE_COMPONENTS
    y_components = LONG_SIDE_COMPONENTS if portrait else SHORT_SIDE_COMPONENTS
    with warnings.catch_warnings():
        # blurhash-python 1.2.2 reads pixels with Image.getdata (deprecated in Pillow 12.1,
        # removed in Pillow 14): silenced here; the placeholder tests fail once it is gone.
        warnings.filterwarnings("ignore", "Image.Image.getdata", DeprecationWarning)
        # ``encode`` closes the image it is given: ``small`` is always our own copy.
        return str(blurhash.encode(small, x_components, y_components))


def _flattened(image: Image.Image) -> Image.Image:
    """A new RGB copy of ``image`` with any alpha composited onto the background."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*PLACEHOLDER_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
