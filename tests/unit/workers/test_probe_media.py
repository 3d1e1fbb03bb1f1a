from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome
from tests.video_factory import make_clip, make_cut_webm
from workers.stages import probe_media
from workers.stages.probe_media import probe


def rejection(path: Path, settings: VideoSettings) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        probe(path, settings)
    return caught.value


def test_probe_reports_codecs_duration_rate_and_audio_of_a_landscape_mp4(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=2, fps=30)
    result = probe_media.run(job, clip, tmp_path / "work", settings)
    assert result.outcome is StageOutcome.SUCCESS
    assert (result.width, result.height, result.duration_ms) == (320, 180, 2000)
    assert result.metadata["container"] == "mov"
    assert result.metadata["video_codec"] == "h264"
    assert result.metadata["audio_codec"] == "aac"
    assert result.metadata["has_audio"] == "true"
    assert float(result.metadata["frame_rate"]) == pytest.approx(30.0)
    assert int(result.metadata["bitrate"]) > 0


def test_probe_swaps_width_and_height_of_a_portrait_phone_video(
    tmp_path: Path, settings: VideoSettings
) -> None:
    clip = make_clip(tmp_path / "p.mp4", 320, 180, seconds=1, rotate=90)
    found = probe(clip, settings)
    assert (found.coded_width, found.coded_height, found.rotation) == (320, 180, 90)
    assert (found.width, found.height) == (180, 320)


def test_probe_reads_vp9_webm_without_audio(tmp_path: Path, settings: VideoSettings) -> None:
    clip = make_clip(
        tmp_path / "v.webm", 320, 180, seconds=1, codec="libvpx-vp9", container="webm", audio=False
    )
    found = probe(clip, settings)
    assert (found.container, found.video_codec, found.has_audio) == ("matroska", "vp9", False)
    assert found.bitrate > 0


@pytest.mark.parametrize(
    ("limit", "reason"),
    [
        ({"max_pixels": 320 * 180 - 1}, FailureReason.TOO_MANY_PIXELS),
        ({"max_duration_seconds": 1.5}, FailureReason.LIMIT_EXCEEDED),
        ({"max_frame_rate": 24}, FailureReason.LIMIT_EXCEEDED),
        ({"max_streams": 1}, FailureReason.LIMIT_EXCEEDED),
    ],
)
def test_probe_rejects_a_video_over_a_cap_before_decoding(
    tmp_path: Path, settings: VideoSettings, limit: dict[str, float], reason: FailureReason
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=2, fps=30)
    assert rejection(clip, settings.model_copy(update=limit)).reason is reason


# --- hostile inputs: playlists that name local files and URLs -------------------------------


@pytest.fixture
def canary() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that proves whether anything connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def assert_nobody_connected(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


def hls_playlist(port: int) -> str:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n"
        f"#EXTINF:6.0,\nhttp://127.0.0.1:{port}/x.ts\n"
        "#EXTINF:6.0,\nfile:///etc/passwd\n#EXTINF:6.0,\n/etc/passwd\n#EXT-X-ENDLIST\n"
    )


def ffconcat(port: int) -> str:
    return f"ffconcat version 1.0\nfile '/etc/passwd'\nfile 'http://127.0.0.1:{port}/x'\n"


@pytest.mark.parametrize("make_text", [hls_playlist, ffconcat], ids=["m3u8", "ffconcat"])
def test_a_playlist_named_mp4_is_rejected_as_unsupported_and_opens_nothing(
    tmp_path: Path,
    settings: VideoSettings,
    canary: socket.socket,
    make_text: object,
) -> None:
    assert callable(make_text)
    path = tmp_path / "holiday.mp4"
    path.write_text(make_text(canary.getsockname()[1]))
    error = rejection(path, settings)
    assert error.reason is FailureReason.UNSUPPORTED_FORMAT
    assert "not an allowed container" in error.message
    assert_nobody_connected(canary)


def test_a_matroska_file_is_rejected_when_only_mp4_is_allowed(
    tmp_path: Path, settings: VideoSettings
) -> None:
    clip = make_clip(tmp_path / "v.webm", 64, 64, 1, codec="libvpx-vp9", container="webm")
    only_mp4 = settings.model_copy(update={"allowed_containers": ("mov",)})
    assert rejection(clip, only_mp4).reason is FailureReason.UNSUPPORTED_FORMAT


def test_plain_text_is_rejected_as_unsupported(tmp_path: Path, settings: VideoSettings) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("just some text, not a video\n")
    assert rejection(path, settings).reason is FailureReason.UNSUPPORTED_FORMAT


def test_an_mp4_without_a_video_stream_is_rejected_as_unsupported(
    tmp_path: Path, settings: VideoSettings
) -> None:
    path = make_clip(tmp_path / "sound.mp4", 64, 64, seconds=1, video=False)
    assert rejection(path, settings).reason is FailureReason.UNSUPPORTED_FORMAT


# --- corrupt and truncated files ---------------------------------------------------------------


def test_a_truncated_mp4_is_rejected_as_corrupt(tmp_path: Path, settings: VideoSettings) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=1)
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 2 // 3])
    assert rejection(clip, settings).reason is FailureReason.CORRUPT


def test_an_mp4_header_followed_by_garbage_is_rejected_as_corrupt(
    tmp_path: Path, settings: VideoSettings
) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64)
    assert rejection(path, settings).reason is FailureReason.CORRUPT


def test_a_webm_header_followed_by_garbage_is_rejected_as_corrupt(
    tmp_path: Path, settings: VideoSettings
) -> None:
    clip = make_clip(tmp_path / "v.webm", 64, 64, 1, codec="libvpx-vp9", container="webm")
    data = clip.read_bytes()
    clip.write_bytes(data[:40] + bytes(reversed(data[40:])))
    assert rejection(clip, settings).reason is FailureReason.CORRUPT


def test_a_playlist_behind_an_mp4_box_is_read_only_by_the_mp4_demuxer_and_opens_nothing(
    tmp_path: Path, settings: VideoSettings, canary: socket.socket
) -> None:
    path = tmp_path / "disguised.mp4"
    box = b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00"
    path.write_bytes(box + hls_playlist(canary.getsockname()[1]).encode())
    assert rejection(path, settings).reason is FailureReason.CORRUPT
    assert_nobody_connected(canary)


def test_a_live_webm_without_a_duration_is_measured_from_its_packets(
    tmp_path: Path, settings: VideoSettings
) -> None:
    clip = make_cut_webm(tmp_path / "live.webm", 1.0, live=True)
    assert probe(clip, settings).duration_seconds == pytest.approx(2.0, abs=0.1)


def test_a_live_webm_longer_than_the_cap_is_refused_before_decoding(
    tmp_path: Path, settings: VideoSettings
) -> None:
    clip = make_cut_webm(tmp_path / "live.webm", 1.0, live=True)
    error = rejection(clip, settings.model_copy(update={"max_duration_seconds": 1.0}))
    assert error.reason is FailureReason.LIMIT_EXCEEDED
    assert "at most 1 s are accepted" in str(error)
