"""A compact placeholder feeds paint before an image loads: a ThumbHash, base64 encoded.

ThumbHash (https://evanw.github.io/thumbhash/) keeps the aspect ratio, alpha and a few
low-frequency colours in about 25 bytes (~35 base64 characters); clients decode it with the
reference JS/Swift/Kotlin decoders. Encoded with ``thumbhash-python``.
"""

from __future__ import annotations

from PIL import Image
from thumbhash import image_to_thumbhash

#: Longest side fed to the encoder, in pixels (the library's own limit is 100). ThumbHash keeps
#: at most 7 frequencies per axis, so 64 px input differs from 100 px only in the last bits of a
#: few coefficients, at a third of the encoder's (pure Python) cost.
PLACEHOLDER_INPUT_SIZE = 64


def thumbhash_of(image: Image.Image) -> str:
    """The base64 ThumbHash of ``image`` (any mode; ``image`` is left as it was)."""
    small = image.convert("RGBA")
    small.thumbnail((PLACEHOLDER_INPUT_SIZE, PLACEHOLDER_INPUT_SIZE), Image.Resampling.BOX)
    return str(image_to_thumbhash(small))
