from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import VariantKind
from media_grpc.domain.stage import StageJob, StageOutcome
from tests.video_factory import make_clip, shows_marker
from workers.stages import extract_poster_frame


def keyframe_times(clip: Path) -> list[float]:
    with av.open(str(clip)) as c:
        return [float(p.pts * p.time_base) for p in c.demux(video=0) if p.is_keyframe]


def test_the_poster_is_the_exact_frame_at_ten_percent_not_the_keyframe_before_it(
    tmp_path: Path, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=3, fps=25)
    assert keyframe_times(clip) == [0.0]
    # Default rungs: the 320x180 clip is below 360p, so the poster keeps its size.
    result = extract_poster_frame.run(job, clip, tmp_path / "work", VideoSettings())
    assert result.outcome is StageOutcome.SUCCESS
    poster_time = int(result.metadata["poster_time_ms"]) / 1000
    assert 0.3 - 1 / 25 < poster_time <= 0.3
    # Frame 7 (0.28 s) is shown at 0.3 s: its red level is 7 * 7 and its bar ends at x = 28.
    image = Image.open(tmp_path / "work" / "poster" / "poster.webp").convert("RGB")
    red, _, _ = image.getpixel((300, 170))
    assert abs(red - 49) <= 3
    assert image.getpixel((24, 20))[2] < 60 < image.getpixel((32, 20))[2]


def test_the_poster_of_a_variable_frame_rate_clip_is_the_frame_shown_at_that_time(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    times = [0.0, 0.04, 0.1, 0.3, 0.33, 0.9, 1.0, 1.05, 1.6, 1.95]
    clip = make_clip(tmp_path / "vfr.mp4", 256, 144, seconds=2, frame_times=times)
    result = extract_poster_frame.run(job, clip, tmp_path / "work", settings)
    assert result.metadata["poster_time_ms"] == "100"


def test_the_poster_set_is_full_rung_size_and_600_on_the_longest_side(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 1280, 720, seconds=1, fps=10, audio=False)
    result = extract_poster_frame.run(job, clip, tmp_path / "work", settings)
    posters = {v.name: v for v in result.variants}
    assert set(posters) == {"poster", "poster_w600"}
    assert (posters["poster"].width, posters["poster"].height) == (640, 360)
    assert (posters["poster_w600"].width, posters["poster_w600"].height) == (600, 338)
    for variant in posters.values():
        assert variant.kind is VariantKind.POSTER and variant.mime_type == "image/webp"
        with Image.open(tmp_path / "work" / "poster" / variant.storage_key) as image:
            assert (image.format, image.size) == ("WEBP", (variant.width, variant.height))
    assert {o.key for o in result.objects} == {"poster.webp", "poster_w600.webp"}


@pytest.mark.parametrize("rotate", [90, -90, 180])
def test_the_poster_of_a_rotated_clip_is_upright(
    tmp_path: Path, settings: VideoSettings, job: StageJob, rotate: int
) -> None:
    clip = make_clip(tmp_path / "p.mp4", 320, 180, seconds=1, rotate=rotate)
    result = extract_poster_frame.run(job, clip, tmp_path / "work", settings)
    upright = (320, 180) if rotate == 180 else (180, 320)
    assert (result.width, result.height) == upright
    with Image.open(tmp_path / "work" / "poster" / "poster.webp") as image:
        # The top rung of the small test ladder is 144p.
        assert image.size == ((256, 144) if rotate == 180 else (144, 256))
        assert shows_marker(image, rotate)
