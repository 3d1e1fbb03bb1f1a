"""AVIF in and out of generate_image_variants, through Pillow's own AVIF plugin (Pillow >= 11.3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import features

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import FailureReason, Purpose
from tests import media_factory as mf
from tests.unit.workers.test_generate_image_variants import (
    carried_metadata,
    close_to,
    outputs,
    process,
    rejection,
    sizes,
)

needs_avif = pytest.mark.skipif(not features.check("avif"), reason="Pillow without AVIF plugin")


def test_the_installed_pillow_has_its_own_avif_plugin() -> None:
    # pyproject asks for Pillow >= 11.3, whose wheels carry libavif; a build without it would
    # silently refuse AVIF uploads and write no AVIF variants.
    assert features.check("avif")


@needs_avif
def test_an_avif_upload_is_decoded_upright_with_its_camera_facts_and_no_gps(
    tmp_path: Path,
) -> None:
    # Stored 1800x1200 with orientation 6 (irot/imir in the file): shown 1200x1800, RED on top.
    source = mf.make_avif(tmp_path / "photo.avif", (1800, 1200), exif_orientation=6, gps=True)

    result = process(source, tmp_path)

    assert result.metadata["original_format"] == "AVIF"
    assert result.metadata["camera_make"] == mf.CAMERA_MAKE
    assert (result.width, result.height) == (1200, 1800)
    assert sizes(result)["w300"] == (200, 300)
    for name, image in outputs(result).items():
        assert image.format == ("JPEG" if name.endswith("_jpeg") else "WEBP")
        rgb = image.convert("RGB")
        assert close_to(rgb.getpixel((rgb.width // 2, 2)), mf.RED)
    for output in result.objects:
        assert carried_metadata(output.path.read_bytes()) == []


@needs_avif
def test_avif_alpha_is_kept_in_the_webp_variants(tmp_path: Path) -> None:
    source = mf.make_avif(tmp_path / "logo.avif", (800, 400), alpha=True)

    webp = outputs(process(source, tmp_path))["w600"]

    assert webp.mode == "RGBA"
    assert webp.getpixel((webp.width - 2, webp.height // 2))[3] == 0
    assert webp.getpixel((webp.width // 2, webp.height // 2))[3] == 255


@needs_avif
def test_avif_variants_are_real_avif_files_beside_the_webp_without_metadata(
    tmp_path: Path,
) -> None:
    source = mf.make_jpeg(tmp_path / "gps.jpg", (1800, 1200), exif_orientation=6, gps=True)

    result = process(source, tmp_path, settings=ImageSettings(avif=True))

    avif = {v.name: v for v in result.variants if v.mime_type == "image/avif"}
    assert {name: (v.width, v.height, v.storage_key) for name, v in avif.items()} == {
        "w1200_avif": (800, 1200, "w1200.avif"),
        "w600_avif": (400, 600, "w600.avif"),
        "w300_avif": (200, 300, "w300.avif"),
        "w150_avif": (100, 150, "w150.avif"),
    }
    opened = outputs(result)
    for name in avif:
        assert opened[name].format == "AVIF"
        assert opened[name].size == sizes(result)[name]
        assert len(opened[name].getexif()) == 0
        rgb = opened[name].convert("RGB")
        assert close_to(rgb.getpixel((rgb.width // 2, 2)), mf.RED)
    by_key = {o.key: o for o in result.objects}
    for variant in avif.values():
        output = by_key[variant.storage_key]
        assert output.content_type == "image/avif"
        assert carried_metadata(output.path.read_bytes()) == []


@needs_avif
def test_avif_variants_keep_alpha(tmp_path: Path) -> None:
    source = mf.make_png(tmp_path / "logo.png", (1600, 800), alpha=True)

    avif = outputs(process(source, tmp_path, settings=ImageSettings(avif=True)))["w600_avif"]

    assert avif.mode == "RGBA"
    assert avif.getpixel((avif.width - 2, avif.height // 2))[3] == 0
    assert avif.getpixel((avif.width // 2, avif.height // 2))[3] == 255


@needs_avif
def test_an_avif_is_refused_where_the_purpose_allows_heif_but_not_avif(tmp_path: Path) -> None:
    # AVIF and HEIC share the HEIF container: pillow-heif's opener must not take an AVIF in.
    source = mf.make_avif(tmp_path / "face.avif")
    settings = ImageSettings(profile_formats=["JPEG", "HEIF"])

    reason = rejection(source, tmp_path, Purpose.PROFILE_IMAGE, settings)

    assert reason is FailureReason.UNSUPPORTED_FORMAT


@needs_avif
def test_a_truncated_avif_is_rejected_as_corrupt(tmp_path: Path) -> None:
    source = mf.make_avif(tmp_path / "cut.avif")
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])

    assert rejection(source, tmp_path) is FailureReason.CORRUPT
