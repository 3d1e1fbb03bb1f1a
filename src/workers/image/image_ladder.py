"""The resize/encode ladder: one decoded image in, a set of variant files out.

The largest rendition is resized once from the decoded image; each smaller one is derived from
the one before it (a 2x step is cheap and sharp with Lanczos). Renditions are never upscaled.
Used by ``generate_image_variants`` and by the video stages for poster sets.

With ``full_size`` the ladder starts with a clean full-size rendition (``full``): the upright
original at its own size, capped at ``full_size`` on the long side, in the main format, with no
metadata but the colour profile, for clients that need more than the largest ``w{size}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import Variant, VariantKind
from media_grpc.domain.stage import OutputObject
from workers.image.image_colour import for_encoding

#: Box-reduce by an integer factor first when shrinking more than this (Pillow's
#: ``reducing_gap``; 3.0 is indistinguishable from plain Lanczos at a fraction of the cost).
REDUCING_GAP = 3.0


@dataclass(frozen=True)
class Encoding:
    """One output format of the ladder."""

    pillow_format: str
    extension: str
    mime_type: str
    #: Appended to the variant name (``w1200_jpeg``); "" for the main format.
    name_suffix: str = ""


WEBP = Encoding("WEBP", "webp", "image/webp")
JPEG = Encoding("JPEG", "jpg", "image/jpeg")
#: Extra AVIF renditions beside the main format.
AVIF_EXTRA = Encoding("AVIF", "avif", "image/avif", "_avif")
#: The JPEG fallback beside WebP, for clients without WebP.
JPEG_FALLBACK = Encoding("JPEG", "jpg", "image/jpeg", "_jpeg")
#: Name (and key stem) of the full-size rendition.
FULL_SIZE_NAME = "full"


@dataclass(frozen=True)
class Ladder:
    """What the ladder wrote; ``smallest`` is the last rendition (for a placeholder)."""

    variants: tuple[Variant, ...]
    objects: tuple[OutputObject, ...]
    smallest: Image.Image


def fit_within(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so its longest side is ``longest``, never enlarged, each side >= 1."""
    width, height = size
    scale = longest / max(width, height)
    if scale >= 1:
        return size
    return max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))


def avif_available() -> bool:
    """True when the installed Pillow can encode AVIF (its own plugin, Pillow >= 11.3)."""
    Image.init()
    return "AVIF" in Image.SAVE


def encodings_for(
    settings: ImageSettings, size: int, *, main_sizes: Sequence[int], fallback_size: int
) -> list[Encoding]:
    """The formats a rendition of ``size`` is written in."""
    main = WEBP if settings.output_format == "webp" else JPEG
    chosen: list[Encoding] = []
    if size in main_sizes:
        chosen.append(main)
        if settings.avif and avif_available():
            chosen.append(AVIF_EXTRA)
    if size == fallback_size and (main is WEBP or size not in main_sizes):
        chosen.append(JPEG_FALLBACK)
    return chosen


def render_image_variants(
    image: Image.Image,
    work_dir: Path,
    settings: ImageSettings,
    *,
    sizes: Sequence[int] | None = None,
    fallback_size: int | None = None,
    square: bool = False,
    name_prefix: str = "",
    kind: VariantKind = VariantKind.IMAGE,
    full_size: int = 0,
) -> Ladder:
    """Write the variants of an upright, decoded ``image`` under ``work_dir``.

    ``sizes`` are longest sides (``w{size}``; default ``settings.post_sizes``), or square sides
    with ``square=True`` (``sq{size}``, centre crop). ``fallback_size`` adds one JPEG
    (``w{size}_jpeg``; default ``settings.jpeg_fallback_size``, none for squares). Names and
    keys get ``name_prefix`` (``poster_w600.webp``). ``full_size`` > 0 (not with ``square``)
    first writes ``full``: the whole image, longest side capped at ``full_size``. ``image`` is
    left as it was.
    """
    main_sizes = list(settings.post_sizes if sizes is None else sizes)
    if fallback_size is None:
        fallback_size = 0 if square else settings.jpeg_fallback_size
    wanted = sorted({s for s in [*main_sizes, fallback_size] if s > 0}, reverse=True)
    if not wanted:
        raise ValueError("no variant sizes configured")
    source, icc = for_encoding(image)
    variants: list[Variant] = []
    objects: list[OutputObject] = []
    current = source
    if full_size > 0 and not square:
        current = _next_rendition(current, source.size, full_size, square=False)
        current.info = {}
        main = WEBP if settings.output_format == "webp" else JPEG
        stem = f"{name_prefix}{FULL_SIZE_NAME}"
        effort = settings.model_copy(update={"webp_method": settings.full_webp_method})
        variant, output = _write(current, icc, main, stem, work_dir, effort, kind)
        variants.append(variant)
        objects.append(output)
    for size in wanted:
        current = _next_rendition(current, source.size, size, square=square)
        current.info = {}
        stem = f"{name_prefix}{'sq' if square else 'w'}{size}"
        chosen = encodings_for(settings, size, main_sizes=main_sizes, fallback_size=fallback_size)
        for encoding in chosen:
            variant, output = _write(current, icc, encoding, stem, work_dir, settings, kind)
            variants.append(variant)
            objects.append(output)
    return Ladder(tuple(variants), tuple(objects), current)


def _next_rendition(
    previous: Image.Image, original: tuple[int, int], size: int, *, square: bool
) -> Image.Image:
    """The rendition of ``size`` made from the previous (larger) one; always a new image."""
    if square:
        side = min(size, *original)
        if previous.size[0] != previous.size[1]:
            return ImageOps.fit(previous, (side, side), Image.Resampling.LANCZOS)
        target = (side, side)
    else:
        target = fit_within(original, size)
    if target == previous.size:
        return previous.copy()
    return previous.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _write(
    image: Image.Image,
    icc: bytes | None,
    encoding: Encoding,
    stem: str,
    work_dir: Path,
    settings: ImageSettings,
    kind: VariantKind,
) -> tuple[Variant, OutputObject]:
    key = f"{stem}.{encoding.extension}"
    path = work_dir / key
    _save(image, path, encoding, icc, settings)
    variant = Variant(
        name=stem + encoding.name_suffix,
        kind=kind,
        storage_key=key,
        width=image.width,
        height=image.height,
        mime_type=encoding.mime_type,
        size_bytes=path.stat().st_size,
    )
    return variant, OutputObject(path, key, encoding.mime_type, settings.cache_control)


def _save(
    image: Image.Image, path: Path, encoding: Encoding, icc: bytes | None, settings: ImageSettings
) -> None:
    """Encode with no metadata but the kept ICC profile (``exif``/``xmp`` left empty)."""
    profile = icc or b""
    if encoding.pillow_format == "WEBP":
        image.save(
            path,
            "WEBP",
            quality=settings.webp_quality,
            method=settings.webp_method,
            icc_profile=profile,
            exif=b"",
        )
    elif encoding.pillow_format == "AVIF":
        image.save(path, "AVIF", quality=settings.avif_quality, icc_profile=profile, exif=b"")
    else:
        flat = _flatten(image) if image.mode == "RGBA" else image
        flat.save(
            path,
            "JPEG",
            quality=settings.jpeg_quality,
            progressive=True,
            icc_profile=profile,
            exif=b"",
            comment=b"",
        )


def _flatten(image: Image.Image) -> Image.Image:
    """RGBA on white, for formats without alpha."""
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background
