"""Settings of image processing (MEDIA_IMAGE__*).

Lists are given as JSON in the environment, e.g. ``MEDIA_IMAGE__POST_SIZES='[200, 800]'``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

#: Pillow format names a worker may decode. HEIF comes from pillow-heif; AVIF only where the
#: installed Pillow has its own AVIF plugin (Pillow >= 11.3), otherwise AVIF input is refused.
KNOWN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF")


#: A size in pixels.
Pixels = Annotated[int, Field(gt=0, le=16384)]


class ImageSettings(BaseModel):
    """Image variant sizes, formats and hardening caps."""

    #: Largest number of pixels (width x height, read from the header before decoding) an
    #: image may have; more is rejected as TOO_MANY_PIXELS. Also set as Pillow's
    #: ``Image.MAX_IMAGE_PIXELS`` while a stage decodes, with its warning made an error.
    max_pixels: int = Field(default=50_000_000, gt=0)
    #: Most frames an animated GIF/WebP (or image sequence) may declare; more is rejected as
    #: LIMIT_EXCEEDED. Variants always come from the first frame.
    max_frames: int = Field(default=500, gt=0)

    #: Longest side, in pixels, of each POST_IMAGE variant (``w{size}``). Never upscaled:
    #: a smaller original gives a variant at its own size.
    post_sizes: list[Pixels] = Field(default_factory=lambda: [150, 300, 600, 1200], min_length=1)
    #: Side, in pixels, of each square PROFILE_IMAGE crop (``sq{size}``), centre crop.
    profile_sizes: list[Pixels] = Field(default_factory=lambda: [150, 300], min_length=1)
    #: Format of the variants.
    output_format: Literal["webp", "jpeg"] = "webp"
    #: Also write AVIF variants (``w{size}_avif``) when the installed Pillow can encode AVIF;
    #: silently skipped where it cannot.
    avif: bool = False
    #: Longest side, in pixels, of the clean full-size POST_IMAGE variant (``full``): the
    #: original at its own size, orientation applied, no metadata, capped at this; 0 for none.
    full_size_max: int = Field(default=4096, ge=0, le=16384)
    #: Longest side, in pixels, of the one JPEG fallback made for POST_IMAGE; 0 for none.
    jpeg_fallback_size: int = Field(default=1200, ge=0, le=16384)

    #: WebP quality, 1-100 (libvips' and cwebp's scale).
    webp_quality: int = Field(default=80, ge=1, le=100)
    #: WebP encoder effort, 0 (fastest) to 6 (smallest); libwebp's default is 4.
    webp_method: int = Field(default=4, ge=0, le=6)
    #: WebP encoder effort of the full-size variant ``full``. At 12 megapixels effort 4 takes
    #: about four times as long as effort 0 for a file of about the same size, and ``full`` is
    #: the stage's largest encode; the smaller variants keep ``webp_method``.
    full_webp_method: int = Field(default=0, ge=0, le=6)
    #: JPEG quality, 1-95.
    jpeg_quality: int = Field(default=82, ge=1, le=95)
    #: AVIF quality, 1-100.
    avif_quality: int = Field(default=60, ge=1, le=100)

    #: Pillow formats decoded for POST_IMAGE; anything else is UNSUPPORTED_FORMAT.
    post_formats: list[str] = Field(default_factory=lambda: list(KNOWN_FORMATS))
    #: Pillow formats decoded for PROFILE_IMAGE; anything else is UNSUPPORTED_FORMAT.
    profile_formats: list[str] = Field(
        default_factory=lambda: ["JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF"]
    )

    #: Wall-clock limit of one image job (decode and every variant), in seconds; a job over it
    #: is killed and its media FAILED with TIMEOUT.
    job_time_limit_seconds: float = Field(default=120.0, gt=0)
    #: Cache-Control of every uploaded variant: keys are deterministic per media and never
    #: rewritten with other content, so clients and CDNs may keep them for a year.
    cache_control: str = "public, max-age=31536000, immutable"

    @field_validator("post_formats", "profile_formats")
    @classmethod
    def _known_formats(cls, formats: list[str]) -> list[str]:
        """Upper-cased; only formats this service has hardened and tested may be allowed."""
        upper = [name.upper() for name in formats]
        unknown = sorted(set(upper) - set(KNOWN_FORMATS))
        if unknown:
            raise ValueError(f"unknown image formats {unknown}; known: {list(KNOWN_FORMATS)}")
        return upper
