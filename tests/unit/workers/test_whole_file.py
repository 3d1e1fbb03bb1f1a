"""A video cut short never reaches READY: made in the test with PyAV, cut the ways an
interrupted upload cuts it, and checked through the stages that run for a POST_VIDEO."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome
from tests.video_factory import (
    make_clip,
    make_clip_cut_between_frames,
    make_cut_webm,
    make_edit_listed_clip,
    make_faststart_clip,
    make_truncated_clip,
)
from workers.stages import encode_video_ladder, process_video
from workers.video.whole_file import matroska_declared_end, require_every_sample

ALLOWED = VideoSettings().allowed_containers


def rejection(call: Callable[[], object]) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        call()
    assert caught.value.reason is FailureReason.CORRUPT
    return caught.value


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.99])
@pytest.mark.parametrize("size", [(320, 180), (1280, 720)], ids=["320x180", "1280x720"])
def test_a_faststart_mp4_cut_anywhere_is_corrupt_and_leaves_nothing(
    tmp_path: Path, job: StageJob, fraction: float, size: tuple[int, int]
) -> None:
    clip = make_truncated_clip(tmp_path / "cut.mp4", *size, fraction=fraction)
    # Default rules: the small clip would be remuxed (copied, never decoded), the larger one
    # transcoded; before the check, both ended READY for most of these cuts.
    settings = VideoSettings(x264_preset="ultrafast")
    error = rejection(lambda: process_video.run(job, clip, tmp_path / "work", settings))
    assert str(error).startswith("the file is cut short (")
    assert str(tmp_path) not in str(error)
    assert not [p for p in (tmp_path / "work").rglob("*") if p.is_file()]


def test_a_cut_between_two_frames_is_found_by_counting_the_index(tmp_path: Path) -> None:
    clip = make_clip_cut_between_frames(tmp_path / "cut.mp4")
    with av.open(str(clip)) as src:
        assert not any(p.is_corrupt for p in src.demux())  # every packet left is whole
    error = rejection(lambda: require_every_sample(clip, ALLOWED))
    assert "its index lists 60 video frames, the file holds" in str(error)


def test_the_ladder_stage_alone_refuses_a_cut_file_too(
    tmp_path: Path, job: StageJob, settings: VideoSettings
) -> None:
    clip = make_clip_cut_between_frames(tmp_path / "cut.mp4")
    rejection(lambda: encode_video_ladder.run(job, clip, tmp_path / "work", settings))
    assert not (tmp_path / "work" / "hls").exists()


def test_samples_an_edit_list_leaves_out_are_not_taken_for_a_cut(
    tmp_path: Path, job: StageJob, settings: VideoSettings
) -> None:
    clip = make_edit_listed_clip(tmp_path / "edited.mp4")
    with av.open(str(clip)) as src:
        audio = src.streams.audio[0]
        played = sum(1 for p in src.demux(audio) if p.size)
        assert played < audio.frames  # the edit list hides some of the index's samples
    require_every_sample(clip, ALLOWED)
    result = process_video.run(job, clip, tmp_path / "work", settings)
    assert result.outcome is StageOutcome.SUCCESS


def test_a_whole_faststart_mp4_passes_and_the_same_file_one_byte_short_does_not(
    tmp_path: Path,
) -> None:
    whole = make_faststart_clip(tmp_path / "whole.mp4")
    require_every_sample(whole, ALLOWED)  # raises MediaRejected if it took a whole file for cut
    short = tmp_path / "short.mp4"
    short.write_bytes(whole.read_bytes()[:-1])
    assert str(rejection(lambda: require_every_sample(short, ALLOWED))).startswith(
        "the file is cut short"
    )


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.99])
def test_a_webm_cut_anywhere_is_corrupt(tmp_path: Path, job: StageJob, fraction: float) -> None:
    clip = make_cut_webm(tmp_path / "cut.webm", fraction)
    settings = VideoSettings(x264_preset="ultrafast")
    error = rejection(lambda: process_video.run(job, clip, tmp_path / "work", settings))
    assert str(error).startswith("the file is cut short (its header says ")


def test_a_whole_webm_passes(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.webm", 160, 96, 1, codec="libvpx-vp9", container="webm")
    require_every_sample(clip, ALLOWED)
    assert matroska_declared_end(clip.read_bytes()[:4096]) == clip.stat().st_size


def test_a_live_webm_of_unknown_size_and_duration_is_processed(
    tmp_path: Path, job: StageJob, settings: VideoSettings
) -> None:
    clip = make_cut_webm(tmp_path / "live.webm", 1.0, live=True)
    assert matroska_declared_end(clip.read_bytes()[:4096]) is None
    with av.open(str(clip)) as src:
        assert src.duration is None  # the probe reads it from the packets
    result = process_video.run(job, clip, tmp_path / "work", settings)
    assert result.outcome is StageOutcome.SUCCESS
    assert 1900 <= (result.duration_ms or 0) <= 2100


@pytest.mark.parametrize(
    "head",
    [b"", b"\x00\x00\x00\x00", b"\x1a\x45\xdf\xa3\x84\x42\x86\x81", bytes(range(256))],
    ids=["empty", "zeros", "header-cut", "noise"],
)
def test_an_unreadable_matroska_head_says_nothing(head: bytes) -> None:
    assert matroska_declared_end(head) is None


def test_an_mp4_head_declares_no_matroska_segment(tmp_path: Path) -> None:
    clip = make_faststart_clip(tmp_path / "whole.mp4")
    assert matroska_declared_end(clip.read_bytes()[:4096]) is None
