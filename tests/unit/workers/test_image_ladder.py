"""The ladder on its own, as the video stages use it for poster sets."""

from __future__ import annotations

from pathlib import Path

import blurhash
import pytest
from PIL import Image, ImageStat

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import VariantKind
from tests import media_factory as mf
from workers.image.image_ladder import fit_within, render_image_variants
from workers.image.placeholder import PLACEHOLDER_BACKGROUND, blurhash_of


def test_a_poster_set_gets_prefixed_names_and_keys_and_the_poster_kind(tmp_path: Path) -> None:
    frame = mf.banded((1920, 1080))

    ladder = render_image_variants(
        frame, tmp_path, ImageSettings(), name_prefix="poster_", kind=VariantKind.POSTER
    )

    assert {v.name: (v.width, v.height) for v in ladder.variants} == {
        "poster_w1200": (1200, 675),
        "poster_w1200_jpeg": (1200, 675),
        "poster_w600": (600, 338),
        "poster_w300": (300, 169),
        "poster_w150": (150, 84),
    }
    assert {v.kind for v in ladder.variants} == {VariantKind.POSTER}
    assert {o.key for o in ladder.objects} == {
        "poster_w1200.webp",
        "poster_w1200.jpg",
        "poster_w600.webp",
        "poster_w300.webp",
        "poster_w150.webp",
    }
    assert ladder.smallest.size == (150, 84)


def test_the_callers_image_is_left_as_it_was(tmp_path: Path) -> None:
    frame = mf.banded((800, 600))
    frame.info["comment"] = b"keep me"

    render_image_variants(frame, tmp_path, ImageSettings())

    assert frame.size == (800, 600)
    assert frame.info == {"comment": b"keep me"}


def test_a_fallback_size_outside_the_main_sizes_is_only_a_jpeg(tmp_path: Path) -> None:
    ladder = render_image_variants(
        mf.banded((1000, 500)), tmp_path, ImageSettings(), sizes=[200], fallback_size=800
    )

    assert {(v.name, v.mime_type) for v in ladder.variants} == {
        ("w200", "image/webp"),
        ("w800_jpeg", "image/jpeg"),
    }


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    grey = Image.new("I;16", (64, 64), 0x8000)  # mid grey in 16 bits

    ladder = render_image_variants(grey, tmp_path, ImageSettings(), sizes=[32], fallback_size=0)

    value = Image.open(ladder.objects[0].path).convert("L").getpixel((16, 16))
    assert isinstance(value, int)
    assert 110 <= value <= 145


def test_a_palette_image_with_transparency_keeps_its_alpha(tmp_path: Path) -> None:
    palette = mf.banded((40, 40), "RGBA").convert("P")
    palette.info["transparency"] = 0

    ladder = render_image_variants(palette, tmp_path, ImageSettings(), sizes=[40], fallback_size=0)

    assert Image.open(ladder.objects[0].path).mode == "RGBA"


@pytest.mark.parametrize(
    ("size", "longest", "expected"),
    [
        ((4000, 3000), 1200, (1200, 900)),
        ((3000, 4000), 150, (113, 150)),
        ((1000, 10), 150, (150, 2)),
        ((10000, 1), 150, (150, 1)),
        ((100, 80), 1200, (100, 80)),
    ],
)
def test_fit_within_keeps_the_aspect_ratio_and_never_enlarges(
    size: tuple[int, int], longest: int, expected: tuple[int, int]
) -> None:
    assert fit_within(size, longest) == expected


def average_colour(placeholder: str) -> list[float]:
    """The mean colour a client paints for ``placeholder`` (the reference decoder, 32x24)."""
    return ImageStat.Stat(blurhash.decode(placeholder, 32, 24)).mean


def test_the_placeholder_is_a_valid_28_character_blurhash_and_deterministic() -> None:
    placeholder = blurhash_of(mf.banded((150, 100)))

    assert blurhash.is_valid_blurhash(placeholder)
    assert len(placeholder) == 28
    assert placeholder == blurhash_of(mf.banded((150, 100)))


def test_the_placeholder_has_4x3_components_for_landscape_and_3x4_for_portrait() -> None:
    # The first character packs (x - 1) + (y - 1) * 9.
    assert blurhash_of(mf.banded((150, 100)))[0] == blurhash_of(mf.banded((100, 100)))[0] == "L"
    assert blurhash_of(mf.banded((100, 150)))[0] == "T"


def test_the_placeholder_keeps_the_average_colour() -> None:
    red = Image.new("RGB", (150, 100), mf.RED)

    colour = average_colour(blurhash_of(red))

    assert all(abs(a - b) <= 4 for a, b in zip(colour, mf.RED, strict=True))


def test_a_transparent_image_is_flattened_onto_the_neutral_background() -> None:
    transparent = mf.banded((150, 100), "RGBA")
    transparent.putalpha(0)

    colour = average_colour(blurhash_of(transparent))

    assert all(abs(a - b) <= 4 for a, b in zip(colour, PLACEHOLDER_BACKGROUND, strict=True))


def test_the_placeholder_leaves_the_callers_image_open_and_unchanged() -> None:
    image = mf.banded((150, 100), "RGBA")

    blurhash_of(image)

    assert image.mode == "RGBA"
    assert image.size == (150, 100)
    assert image.getpixel((2, 50)) == (*mf.RED, 255)
