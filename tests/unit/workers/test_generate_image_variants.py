"""generate_image_variants on real files made with Pillow / pillow-heif in the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import blurhash
import pytest
from PIL import Image, ImageFile

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import FailureReason, Purpose, VariantKind
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome, StageResult
from tests import media_factory as mf
from workers.stages import generate_image_variants

IMMUTABLE = "public, max-age=31536000, immutable"


def job(purpose: Purpose = Purpose.POST_IMAGE) -> StageJob:
    return StageJob(
        media_id="m-1", owner_id="u-1", purpose=purpose, mime_type="", storage_key="o/m-1"
    )


def process(
    source: Path,
    tmp_path: Path,
    purpose: Purpose = Purpose.POST_IMAGE,
    settings: ImageSettings | None = None,
) -> StageResult:
    work_dir = tmp_path / "out"
    work_dir.mkdir(exist_ok=True)
    return generate_image_variants.run(job(purpose), source, work_dir, settings or ImageSettings())


def outputs(result: StageResult) -> dict[str, Image.Image]:
    """Every written variant reopened, by variant name."""
    by_key = {o.key: o.path for o in result.objects}
    opened = {}
    for variant in result.variants:
        image = Image.open(by_key[variant.storage_key])
        image.load()
        opened[variant.name] = image
    return opened


def sizes(result: StageResult) -> dict[str, tuple[int, int]]:
    return {v.name: (v.width, v.height) for v in result.variants}


#: Byte strings any EXIF/XMP/comment of a test file would leave in an output.
METADATA_MARKERS = (
    b"Exif",  # JPEG APP1 EXIF
    b"EXIF",  # WebP EXIF chunk
    b"MM\x00*",  # TIFF header (big-endian) inside EXIF
    b"II*\x00",  # TIFF header (little-endian)
    b"XMP ",  # WebP XMP chunk
    b"<x:xmpmeta",
    mf.CAMERA_MAKE.encode(),
    b"secret comment",
)


def carried_metadata(data: bytes) -> list[bytes]:
    return [marker for marker in METADATA_MARKERS if marker in data]


def test_the_metadata_detector_sees_exif_in_a_webp(tmp_path: Path) -> None:
    path = tmp_path / "with-exif.webp"
    mf.banded((10, 10)).save(path, "WEBP", exif=mf.exif_bytes(gps=True))

    assert carried_metadata(path.read_bytes()) != []


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def test_post_jpeg_gets_a_full_size_four_webp_sizes_and_a_jpeg_fallback(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "photo.jpg", (2400, 1600))

    result = process(source, tmp_path)

    assert result.outcome is StageOutcome.SUCCESS
    assert (result.width, result.height) == (2400, 1600)
    assert sizes(result) == {
        "full": (2400, 1600),
        "w1200": (1200, 800),
        "w1200_jpeg": (1200, 800),
        "w600": (600, 400),
        "w300": (300, 200),
        "w150": (150, 100),
    }
    for name, image in outputs(result).items():
        assert image.format == ("JPEG" if name.endswith("_jpeg") else "WEBP")
        assert image.size == sizes(result)[name]


def test_variants_record_key_mime_type_and_byte_size_of_their_files(tmp_path: Path) -> None:
    result = process(mf.make_jpeg(tmp_path / "photo.jpg"), tmp_path)

    by_key = {o.key: o for o in result.objects}
    assert len(by_key) == len(result.variants)
    for variant in result.variants:
        output = by_key[variant.storage_key]
        assert variant.kind is VariantKind.IMAGE
        assert output.content_type == variant.mime_type
        assert output.cache_control == IMMUTABLE
        assert output.path.stat().st_size == variant.size_bytes > 0
        assert output.path.parent == tmp_path / "out"
    assert {o.key for o in result.objects} == {
        "full.webp",
        "w150.webp",
        "w300.webp",
        "w600.webp",
        "w1200.webp",
        "w1200.jpg",
    }


def test_exif_orientation_is_applied_before_resizing(tmp_path: Path) -> None:
    # Stored 1800x1200 with orientation 6: shown turned 90 degrees clockwise, 1200x1800,
    # so the stored left band (RED) is on top.
    source = mf.make_jpeg(tmp_path / "turned.jpg", (1800, 1200), exif_orientation=6)

    result = process(source, tmp_path)

    assert (result.width, result.height) == (1200, 1800)
    assert sizes(result)["full"] == (1200, 1800)
    assert sizes(result)["w1200"] == (800, 1200)
    assert sizes(result)["w150"] == (100, 150)
    for image in outputs(result).values():
        rgb = image.convert("RGB")
        assert close_to(rgb.getpixel((rgb.width // 2, 2)), mf.RED)
        assert close_to(rgb.getpixel((rgb.width // 2, rgb.height - 3)), mf.BLUE)


def test_no_exif_gps_or_comment_survives_in_any_variant(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "gps.jpg", (800, 600), exif_orientation=6, gps=True)

    result = process(source, tmp_path)

    for output in result.objects:
        assert carried_metadata(output.path.read_bytes()) == []
        reopened = Image.open(output.path)
        assert "exif" not in reopened.info
        assert len(reopened.getexif()) == 0


def test_record_metadata_has_camera_and_taken_at_but_never_gps(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "gps.jpg", gps=True)

    result = process(source, tmp_path)

    assert result.metadata["camera_make"] == mf.CAMERA_MAKE
    assert result.metadata["camera_model"] == mf.CAMERA_MODEL
    assert result.metadata["taken_at"] == "2024-05-01T12:34:56+02:00"
    assert result.metadata["original_format"] == "JPEG"
    assert result.metadata["frames"] == "1"
    assert set(result.metadata) == {
        "camera_make",
        "camera_model",
        "taken_at",
        "original_format",
        "frames",
        "placeholder",
        "placeholder_format",
    }


def test_placeholder_is_a_short_blurhash_of_the_smallest_variant(tmp_path: Path) -> None:
    result = process(mf.make_jpeg(tmp_path / "photo.jpg"), tmp_path)

    assert blurhash.is_valid_blurhash(result.metadata["placeholder"])
    assert len(result.metadata["placeholder"]) == 28
    assert result.metadata["placeholder_format"] == "blurhash"


def test_png_alpha_is_kept_in_webp_and_flattened_on_white_in_the_jpeg(tmp_path: Path) -> None:
    source = mf.make_png(tmp_path / "logo.png", (1600, 800), alpha=True)

    result = process(source, tmp_path)

    opened = outputs(result)
    webp = opened["w600"]
    assert webp.mode == "RGBA"
    assert webp.getpixel((webp.width - 2, webp.height // 2))[3] == 0
    assert webp.getpixel((webp.width // 2, webp.height // 2))[3] == 255
    jpeg = opened["w1200_jpeg"].convert("RGB")
    assert close_to(jpeg.getpixel((jpeg.width - 2, jpeg.height // 2)), (255, 255, 255), 8)


def test_small_originals_are_never_upscaled(tmp_path: Path) -> None:
    source = mf.make_png(tmp_path / "small.png", (100, 80), alpha=False)

    post = process(source, tmp_path)
    profile = process(source, tmp_path, Purpose.PROFILE_IMAGE)

    assert set(sizes(post).values()) == {(100, 80)}
    assert sizes(profile) == {"sq300": (80, 80), "sq150": (80, 80)}


def test_profile_image_gets_exact_centre_square_crops(tmp_path: Path) -> None:
    # 800x600: the centre 600x600 crop drops 100 px on each side, i.e. most of the RED and
    # BLUE bands (each 200 px wide).
    source = mf.make_jpeg(tmp_path / "face.jpg", (800, 600))

    result = process(source, tmp_path, Purpose.PROFILE_IMAGE)

    assert sizes(result) == {"sq300": (300, 300), "sq150": (150, 150)}
    assert {o.key for o in result.objects} == {"sq150.webp", "sq300.webp"}
    for image in outputs(result).values():
        assert image.format == "WEBP"
        rgb = image.convert("RGB")
        assert close_to(rgb.getpixel((rgb.width // 2, rgb.height // 2)), mf.GREEN)
        assert close_to(rgb.getpixel((2, rgb.height // 2)), mf.RED)


def test_profile_crop_applies_exif_orientation_first(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "face.jpg", (800, 600), exif_orientation=6)

    result = process(source, tmp_path, Purpose.PROFILE_IMAGE)

    rgb = outputs(result)["sq300"].convert("RGB")
    assert close_to(rgb.getpixel((150, 2)), mf.RED)
    assert close_to(rgb.getpixel((2, 150)), mf.GREEN)


def test_heic_from_a_phone_is_supported(tmp_path: Path) -> None:
    source = mf.make_heic(tmp_path / "phone.heic", (600, 400), gps=True)

    result = process(source, tmp_path)

    assert result.metadata["original_format"] == "HEIF"
    assert result.metadata["camera_make"] == mf.CAMERA_MAKE
    assert sizes(result)["w300"] == (300, 200)
    for output in result.objects:
        assert carried_metadata(output.path.read_bytes()) == []


def test_a_multi_picture_jpeg_from_a_phone_is_a_jpeg_made_from_its_first_image(
    tmp_path: Path,
) -> None:
    source = mf.make_mpo(tmp_path / "phone.jpg", (1800, 1200), exif_orientation=6)

    result = process(source, tmp_path)

    assert result.metadata["original_format"] == "JPEG"
    assert result.metadata["frames"] == "2"
    assert sizes(result)["w600"] == (400, 600)
    rgb = outputs(result)["w600"].convert("RGB")
    assert close_to(rgb.getpixel((200, 2)), mf.RED)


def test_animated_gif_variants_come_from_the_first_frame(tmp_path: Path) -> None:
    source = mf.make_gif(tmp_path / "anim.gif", (120, 80), frames=3)

    result = process(source, tmp_path)

    assert result.metadata["frames"] == "3"
    assert result.metadata["original_format"] == "GIF"
    for image in outputs(result).values():
        assert getattr(image, "n_frames", 1) == 1
        assert close_to(image.convert("RGB").getpixel((60, 40)), mf.RED)


def test_animated_webp_variants_come_from_the_first_frame(tmp_path: Path) -> None:
    source = mf.make_animated_webp(tmp_path / "anim.webp", frames=4)

    result = process(source, tmp_path)

    assert result.metadata["frames"] == "4"
    image = outputs(result)["w150"]
    assert getattr(image, "n_frames", 1) == 1
    assert close_to(image.convert("RGB").getpixel((60, 40)), mf.RED)


def test_an_rgb_icc_profile_is_kept_on_every_variant(tmp_path: Path) -> None:
    icc = mf.srgb_icc()
    source = mf.make_jpeg(tmp_path / "icc.jpg", icc=icc)

    result = process(source, tmp_path)

    for image in outputs(result).values():
        assert image.info.get("icc_profile") == icc


def test_a_cmyk_jpeg_becomes_rgb_variants(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "print.jpg", mode="CMYK")

    result = process(source, tmp_path)

    for image in outputs(result).values():
        assert image.mode == "RGB"
        assert "icc_profile" not in image.info


def test_avif_variants_appear_only_where_pillow_can_encode_avif(tmp_path: Path) -> None:
    Image.init()
    result = process(mf.make_jpeg(tmp_path / "p.jpg"), tmp_path, settings=ImageSettings(avif=True))

    avif = [v for v in result.variants if v.mime_type == "image/avif"]
    assert len(avif) == (4 if "AVIF" in Image.SAVE else 0)


def test_sizes_and_formats_come_from_settings(tmp_path: Path) -> None:
    settings = ImageSettings(post_sizes=[100, 500], output_format="jpeg", jpeg_fallback_size=500)

    result = process(mf.make_jpeg(tmp_path / "p.jpg"), tmp_path, settings=settings)

    assert sizes(result) == {"full": (600, 400), "w500": (500, 333), "w100": (100, 67)}
    assert {v.mime_type for v in result.variants} == {"image/jpeg"}


# --- rejections: each a MediaRejected with a reason, and no variant written ------------------


def rejection(
    source: Path,
    tmp_path: Path,
    purpose: Purpose = Purpose.POST_IMAGE,
    settings: ImageSettings | None = None,
) -> FailureReason:
    with pytest.raises(MediaRejected) as caught:
        process(source, tmp_path, purpose, settings)
    assert list((tmp_path / "out").iterdir()) == []
    return caught.value.reason


def test_a_decompression_bomb_png_is_rejected_before_decoding(tmp_path: Path) -> None:
    source = mf.make_png_bomb(tmp_path / "bomb.png", 30_000, 30_000)

    assert rejection(source, tmp_path) is FailureReason.TOO_MANY_PIXELS


def test_pillows_bomb_warning_is_an_error_rejected_as_too_many_pixels(tmp_path: Path) -> None:
    # 40x40 = 1600 pixels: above max_pixels but under twice it, where Pillow only warns.
    source = mf.make_png(tmp_path / "p.png", (40, 40))

    reason = rejection(source, tmp_path, settings=ImageSettings(max_pixels=1000))

    assert reason is FailureReason.TOO_MANY_PIXELS


def test_pillows_global_limits_are_restored_after_the_stage(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    rejection(
        mf.make_png(tmp_path / "p.png", (40, 40)), tmp_path, settings=ImageSettings(max_pixels=1000)
    )

    assert before == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("size", [(400, 300), (2400, 1600)], ids=["full-decode", "draft-decode"])
def test_a_truncated_jpeg_is_rejected_as_corrupt(tmp_path: Path, size: tuple[int, int]) -> None:
    source = mf.make_truncated_jpeg(tmp_path / "cut.jpg", size)

    assert rejection(source, tmp_path) is FailureReason.CORRUPT


def test_a_png_with_a_broken_header_is_rejected_as_corrupt(tmp_path: Path) -> None:
    source = mf.make_png(tmp_path / "p.png")
    data = bytearray(source.read_bytes())
    data[29] ^= 0xFF  # a byte of the IHDR checksum
    source.write_bytes(bytes(data))

    assert rejection(source, tmp_path) is FailureReason.CORRUPT


DAMAGED_PNGS = {
    "64-bytes-flipped-in-idat": mf.make_png_with_flipped_idat,
    "truncated-end-chunk": mf.make_png_with_truncated_end_chunk,
    "broken-data-stream": mf.make_png_with_broken_data_stream,
}


@pytest.mark.parametrize("make", DAMAGED_PNGS.values(), ids=DAMAGED_PNGS.keys())
def test_a_png_that_fails_to_decode_is_rejected_as_corrupt_not_rendered_half_black(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    source = make(tmp_path / "damaged.png")
    with Image.open(source) as image, pytest.raises(OSError):
        image.load()  # the premise: Pillow itself cannot decode it

    assert rejection(source, tmp_path) is FailureReason.CORRUPT
    assert list((tmp_path / "out").iterdir()) == []


def test_a_damaged_png_is_corrupt_even_where_the_process_allows_truncated_images(
    tmp_path: Path,
) -> None:
    source = mf.make_png_with_truncated_end_chunk(tmp_path / "damaged.png")
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        assert rejection(source, tmp_path) is FailureReason.CORRUPT
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_an_svg_is_rejected_as_unsupported(tmp_path: Path) -> None:
    source = mf.make_svg(tmp_path / "drawing.svg")

    assert rejection(source, tmp_path) is FailureReason.UNSUPPORTED_FORMAT


def test_an_html_file_renamed_jpg_is_rejected_as_unsupported(tmp_path: Path) -> None:
    source = mf.make_html(tmp_path / "innocent.jpg")

    assert rejection(source, tmp_path) is FailureReason.UNSUPPORTED_FORMAT


def test_a_format_pillow_knows_but_the_purpose_does_not_allow_is_never_decoded(
    tmp_path: Path,
) -> None:
    bmp = tmp_path / "old.bmp"
    mf.banded((40, 30)).save(bmp, "BMP")
    png = mf.make_png(tmp_path / "p.png")

    assert rejection(bmp, tmp_path) is FailureReason.UNSUPPORTED_FORMAT
    reason = rejection(
        png, tmp_path, Purpose.PROFILE_IMAGE, ImageSettings(profile_formats=["JPEG"])
    )
    assert reason is FailureReason.UNSUPPORTED_FORMAT


def test_more_frames_than_the_cap_is_rejected(tmp_path: Path) -> None:
    source = mf.make_gif(tmp_path / "long.gif", frames=5)

    reason = rejection(source, tmp_path, settings=ImageSettings(max_frames=4))

    assert reason is FailureReason.LIMIT_EXCEEDED


def test_a_video_purpose_is_refused(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "p.jpg")

    assert rejection(source, tmp_path, Purpose.POST_VIDEO) is FailureReason.UNSUPPORTED_FORMAT


def test_the_full_size_variant_is_capped_on_the_long_side_by_the_setting(tmp_path: Path) -> None:
    source = mf.make_jpeg(tmp_path / "big.jpg", (2400, 1600), gps=True)

    result = process(source, tmp_path, settings=ImageSettings(full_size_max=1500))

    assert sizes(result)["full"] == (1500, 1000)
    full = next(o for o in result.objects if o.key == "full.webp")
    assert carried_metadata(full.path.read_bytes()) == []


def test_no_full_size_variant_when_the_setting_is_zero_nor_for_profile_images(
    tmp_path: Path,
) -> None:
    source = mf.make_jpeg(tmp_path / "photo.jpg", (800, 600))

    off = process(source, tmp_path, settings=ImageSettings(full_size_max=0))
    profile = process(source, tmp_path, Purpose.PROFILE_IMAGE)

    assert "full" not in sizes(off)
    assert "full" not in sizes(profile)


@pytest.mark.parametrize("side", [40, 400], ids=["over-the-limit", "far-over-the-limit"])
def test_the_pixel_limit_message_states_the_configured_limit(tmp_path: Path, side: int) -> None:
    source = mf.make_png(tmp_path / "p.png", (side, side))
    with pytest.raises(MediaRejected) as caught:
        process(source, tmp_path, settings=ImageSettings(max_pixels=1000))

    assert caught.value.reason is FailureReason.TOO_MANY_PIXELS
    assert caught.value.message.endswith("than the limit of 1,000")
