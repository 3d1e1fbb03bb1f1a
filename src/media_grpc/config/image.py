"""Settings of image processing (MEDIA_IMAGE__*)."""

from __future__ import annotations

from pydantic import BaseModel


class ImageSettings(BaseModel):
    """Image variant sizes, formats and hardening caps."""

    #: Largest number of pixels an image may have before it is rejected as TOO_MANY_PIXELS.
    max_pixels: int = 50_000_000
