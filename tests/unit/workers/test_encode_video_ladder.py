from __future__ import annotations

import re
from pathlib import Path

import av
import pytest

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason, VariantKind
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome, StageResult
from tests.hls_reader import decode_rendition, master_entries, media_segments
from tests.video_factory import SMALL_RUNGS, make_clip, shows_marker
from workers.stages import encode_video_ladder
from workers.video import hls


def encode(job: StageJob, clip: Path, work: Path, settings: VideoSettings) -> StageResult:
    result = encode_video_ladder.run(job, clip, work, settings)
    assert result.outcome is StageOutcome.SUCCESS
    assert result.hls_key == "master.m3u8"
    return result


def rungs(result: StageResult) -> list[tuple[str, int, int]]:
    return [(v.name, v.width, v.height) for v in result.variants]


def test_a_landscape_clip_gets_every_rung_up_to_its_size_as_playable_hls(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 640, 360, seconds=2, fps=30)
    result = encode(job, clip, tmp_path / "work", settings)
    assert rungs(result) == [("hls_144p", 256, 144), ("hls_240p", 426, 240), ("hls_360p", 640, 360)]
    hls_dir = tmp_path / "work" / "hls"
    entries = master_entries(hls_dir / "master.m3u8")
    assert [uri for _, uri in entries] == ["144p/index.m3u8", "240p/index.m3u8", "360p/index.m3u8"]
    for (attrs, uri), variant in zip(entries, result.variants, strict=True):
        assert int(attrs["BANDWIDTH"]) > 0
        assert attrs["RESOLUTION"] == f"{variant.width}x{variant.height}"
        assert re.fullmatch(r"avc1\.[0-9a-f]{6},mp4a\.40\.2", attrs["CODECS"])
        decoded = decode_rendition(hls_dir / uri)
        assert decoded.sizes == {(variant.width, variant.height)}
        assert decoded.video_frames == 60
        assert decoded.audio_frames > 0
        assert variant.kind is VariantKind.VIDEO and variant.storage_key == uri
        assert variant.size_bytes == sum(f.stat().st_size for f in (hls_dir / uri).parent.iterdir())


def test_every_rung_has_keyframes_on_the_same_segment_boundaries(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 640, 360, seconds=3, fps=25)
    result = encode(job, clip, tmp_path / "work", settings)
    starts = [
        decode_rendition(tmp_path / "work" / "hls" / v.storage_key).segment_starts
        for v in result.variants
    ]
    assert all(key for rung in starts for _, key in rung)
    origin = starts[0][0][0]
    assert [t - origin for t, _ in starts[0]] == pytest.approx([0.0, 1.0, 2.0], abs=0.01)
    assert starts[1:] == [starts[0]] * (len(starts) - 1)
    for v in result.variants:
        durations = [d for d, _ in media_segments(tmp_path / "work" / "hls" / v.storage_key)]
        assert durations == pytest.approx([1.0, 1.0, 1.0], abs=0.05)


@pytest.mark.parametrize("rotate", [90, -90, 180])
def test_a_rotated_phone_clip_is_encoded_upright(
    tmp_path: Path, settings: VideoSettings, job: StageJob, rotate: int
) -> None:
    clip = make_clip(tmp_path / "p.mp4", 640, 360, seconds=1, rotate=rotate)
    result = encode(job, clip, tmp_path / "work", settings)
    upright = (640, 360) if rotate == 180 else (360, 640)
    assert (result.width, result.height) == upright
    assert rungs(result)[-1] == ("hls_360p", *upright)
    playlist = tmp_path / "work" / "hls" / "360p" / "index.m3u8"
    assert decode_rendition(playlist).sizes == {upright}
    with av.open(str(playlist.parent / media_segments(playlist)[0][1])) as segment:
        frames = segment.decode(video=0)
        third = [next(frames) for _ in range(4)][3]
        assert third.rotation == 0
        assert shows_marker(third.to_image(), rotate)


def test_a_clip_without_audio_gets_video_only_renditions(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 426, 240, seconds=1, audio=False)
    result = encode(job, clip, tmp_path / "work", settings)
    assert result.metadata["has_audio"] == "false"
    for attrs, uri in master_entries(tmp_path / "work" / "hls" / "master.m3u8"):
        assert "mp4a" not in attrs["CODECS"]
        assert decode_rendition(tmp_path / "work" / "hls" / uri).audio_frames == 0


def test_a_vp9_webm_is_transcoded_to_h264(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "v.webm", 426, 240, 1, codec="libvpx-vp9", container="webm")
    result = encode(job, clip, tmp_path / "work", settings)
    assert result.metadata["video_codec"] == "vp9" and result.metadata["audio_codec"] == "opus"
    assert rungs(result) == [("hls_144p", 256, 144), ("hls_240p", 426, 240)]
    decoded = decode_rendition(tmp_path / "work" / "hls" / "240p" / "index.m3u8")
    assert decoded.video_frames == 30 and decoded.audio_frames > 0


def test_an_odd_1081x607_clip_gets_even_rungs_keeping_its_aspect_ratio(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "odd.mp4", 1081, 607, seconds=1, fps=10, audio=False)
    result = encode(job, clip, tmp_path / "work", settings)
    assert (result.width, result.height) == (1081, 607)
    for variant in result.variants:
        assert variant.width % 2 == 0 and variant.height % 2 == 0
        assert variant.width / variant.height == pytest.approx(1081 / 607, rel=0.01)
        decoded = decode_rendition(tmp_path / "work" / "hls" / variant.storage_key)
        assert decoded.sizes == {(variant.width, variant.height)}


def test_a_variable_frame_rate_clip_keeps_its_frames_and_timing(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    times = [0.0, 0.04, 0.1, 0.3, 0.33, 0.9, 1.0, 1.05, 1.6, 1.95]
    clip = make_clip(tmp_path / "vfr.mp4", 256, 144, seconds=2, frame_times=times)
    encode(job, clip, tmp_path / "work", settings)
    decoded = decode_rendition(tmp_path / "work" / "hls" / "144p" / "index.m3u8")
    assert decoded.video_frames == len(times)
    (first, _), (second, _) = decoded.segment_starts
    assert second - first == pytest.approx(1.0, abs=0.02)


def test_the_outputs_carry_content_types_and_cache_policies_per_object_type(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 256, 144, seconds=2)
    result = encode(job, clip, tmp_path / "work", settings)
    keys = {o.key: o for o in result.objects}
    assert set(keys) == {
        "master.m3u8",
        "144p/index.m3u8",
        "144p/seg_00001.ts",
        "144p/seg_00002.ts",
    }
    for key, obj in keys.items():
        assert obj.path.is_file()
        if key.endswith(".m3u8"):
            assert (obj.content_type, obj.cache_control) == (
                hls.PLAYLIST_TYPE,
                "public, max-age=60",
            )
        else:
            assert obj.content_type == "video/mp2t"
            assert obj.cache_control == "public, max-age=31536000, immutable"


def test_a_small_h264_aac_clip_is_remuxed_when_the_rule_allows(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=2)
    # Below the smallest rung: one rendition at the source's own size, which remuxing keeps.
    remux_on = settings.model_copy(update={"remux_max_short_side": 360, "rungs": SMALL_RUNGS[1:]})
    result = encode(job, clip, tmp_path / "work", remux_on)
    assert result.metadata["remuxed"] == "true"
    assert rungs(result) == [("hls_180p", 320, 180)]
    decoded = decode_rendition(tmp_path / "work" / "hls" / "180p" / "index.m3u8")
    assert decoded.video_frames == 60 and decoded.audio_frames > 0


@pytest.mark.parametrize(
    "clip_args",
    [
        {"rotate": 90},
        {"codec": "libvpx-vp9", "container": "webm"},
    ],
    ids=["rotated", "vp9"],
)
def test_sources_the_remux_rule_excludes_are_transcoded(
    tmp_path: Path, settings: VideoSettings, job: StageJob, clip_args: dict[str, object]
) -> None:
    suffix = ".webm" if clip_args.get("container") == "webm" else ".mp4"
    clip = make_clip(tmp_path / f"a{suffix}", 320, 180, seconds=1, **clip_args)  # type: ignore[arg-type]
    remux_on = settings.model_copy(update={"remux_max_short_side": 360, "rungs": SMALL_RUNGS[1:]})
    assert encode(job, clip, tmp_path / "work", remux_on).metadata["remuxed"] == "false"


def test_a_failed_transcode_leaves_no_ladder_behind(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 256, 144, seconds=1)
    work = tmp_path / "work"
    broken = settings.model_copy(update={"x264_preset": "no-such-preset"})
    with pytest.raises(Exception, match="libx264"):
        encode_video_ladder.run(job, clip, work, broken)
    assert not (work / "hls").exists()


def test_a_truncated_clip_fails_as_corrupt_and_leaves_no_ladder(
    tmp_path: Path, settings: VideoSettings, job: StageJob
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 256, 144, seconds=1)
    clip.write_bytes(clip.read_bytes()[:2000])
    with pytest.raises(MediaRejected) as caught:
        encode_video_ladder.run(job, clip, tmp_path / "work", settings)
    assert caught.value.reason is FailureReason.CORRUPT
    assert not (tmp_path / "work" / "hls").exists()


@pytest.mark.parametrize(
    ("codec", "container", "decoded_as"),
    [("libx265", "mp4", "hevc"), ("libsvtav1", "mp4", "av1"), ("libsvtav1", "webm", "av1")],
    ids=["hevc-mp4", "av1-mp4", "av1-webm"],
)
def test_hevc_and_av1_sources_are_transcoded_to_h264(
    tmp_path: Path,
    settings: VideoSettings,
    job: StageJob,
    codec: str,
    container: str,
    decoded_as: str,
) -> None:
    clip = make_clip(
        tmp_path / f"a.{container}", 256, 144, 1, codec=codec, container=container, audio=False
    )
    result = encode(job, clip, tmp_path / "work", settings)
    assert result.metadata["video_codec"] == decoded_as
    decoded = decode_rendition(tmp_path / "work" / "hls" / "144p" / "index.m3u8")
    assert decoded.sizes == {(256, 144)} and decoded.video_frames == 30


def media_playlist_tags(playlist: Path) -> dict[str, str]:
    """``#EXT-X-NAME:value`` tags of a media playlist, by name."""
    tags = {}
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXT-X-") and ":" in line:
            name, value = line[1:].split(":", 1)
            tags[name] = value
    return tags


@pytest.mark.parametrize("remuxed", [False, True], ids=["transcoded", "remuxed"])
@pytest.mark.parametrize("seconds", [1 / 30, 0.5], ids=["one-frame", "half-second"])
def test_a_very_short_clip_gets_playlists_valid_per_rfc_8216(
    tmp_path: Path, settings: VideoSettings, job: StageJob, seconds: float, remuxed: bool
) -> None:
    clip = make_clip(tmp_path / "a.mp4", 320, 180, seconds=seconds, fps=30)
    if remuxed:
        settings = settings.model_copy(
            update={"remux_max_short_side": 360, "rungs": SMALL_RUNGS[1:]}
        )
    result = encode(job, clip, tmp_path / "work", settings)
    assert result.metadata["remuxed"] == str(remuxed).lower()
    hls_dir = tmp_path / "work" / "hls"
    entries = master_entries(hls_dir / "master.m3u8")
    assert entries
    for attrs, uri in entries:
        # 4.3.4.2: BANDWIDTH is the peak segment bit rate, an upper bound of AVERAGE-BANDWIDTH.
        assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 0
        playlist = hls_dir / uri
        # 4.3.3.1: a decimal-integer target, and every EXTINF rounded to the nearest integer
        # is at most the target.
        target = media_playlist_tags(playlist)["EXT-X-TARGETDURATION"]
        assert re.fullmatch(r"[0-9]+", target)
        segments = media_segments(playlist)
        assert segments
        assert int(target) >= 1
        assert all(int(target) >= int(duration + 0.5) for duration, _ in segments)
        assert decode_rendition(playlist).video_frames == round(seconds * 30)
