"""What the record keeps of an original's EXIF."""

from __future__ import annotations

from PIL import Image

from tests import media_factory as mf
from workers.image import exif_summary


def exif_of(tags: dict[int, object], exif_ifd: dict[int, object] | None = None) -> Image.Exif:
    """EXIF as a decoder sees it: built, serialised, then parsed back."""
    built = Image.Exif()
    for tag, value in tags.items():
        built[tag] = value
    if exif_ifd is not None:
        built[mf.EXIF_IFD] = exif_ifd
    parsed = Image.Exif()
    parsed.load(built.tobytes())
    return parsed


def test_taken_at_without_an_offset_is_a_local_time() -> None:
    summary = exif_summary.summarize(exif_of({}, {mf.DATE_TIME_ORIGINAL: "2023:12:31 23:59:00"}))

    assert summary == {"taken_at": "2023-12-31T23:59:00"}


def test_a_malformed_capture_time_is_left_out() -> None:
    summary = exif_summary.summarize(exif_of({}, {mf.DATE_TIME_ORIGINAL: "0000:00:00 00:00:00"}))

    assert "taken_at" not in summary


def test_camera_text_is_stripped_of_control_characters_and_capped() -> None:
    summary = exif_summary.summarize(exif_of({mf.MAKE: "Evil\x00\x1b[31m" + "x" * 500}))

    assert summary["camera_make"].startswith("Evil[31m")
    assert len(summary["camera_make"]) == exif_summary.MAX_VALUE_LENGTH


def test_gps_is_never_summarised() -> None:
    exif = Image.Exif()
    exif.load(mf.exif_bytes(gps=True))

    summary = exif_summary.summarize(exif)

    assert set(summary) == {"camera_make", "camera_model", "taken_at"}


def test_an_invalid_orientation_counts_as_upright() -> None:
    assert exif_summary.orientation(exif_of({mf.ORIENTATION: 42})) == 1
    assert exif_summary.orientation(exif_of({})) == 1
    assert exif_summary.orientation(exif_of({mf.ORIENTATION: 8})) == 8


def test_quarter_turns_swap_width_and_height() -> None:
    assert exif_summary.upright_size((40, 30), 6) == (30, 40)
    assert exif_summary.upright_size((40, 30), 3) == (40, 30)
