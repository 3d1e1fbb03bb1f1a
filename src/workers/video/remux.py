"""The remux rule: a small source that is already H.264 + AAC is repackaged, not re-encoded.

A source is remuxed into a single HLS rendition when all of these hold (settings in brackets):
the container is MP4/MOV; video is H.264 8-bit 4:2:0 (``yuv420p``) with even dimensions and no
rotation (MPEG-TS cannot carry a display matrix); audio is AAC or absent; the short side is at
most ``remux_max_short_side`` (so the ladder would have one rung at the source's own size
anyway); the overall bitrate is at most ``remux_max_bitrate``; and there is a keyframe at least
every ``remux_max_keyframe_interval_seconds`` (segments are cut at keyframes).
"""

from __future__ import annotations

from pathlib import Path

import av
from av.stream import Stream

from media_grpc.config.video import VideoSettings
from workers.video import hls
from workers.video.ladder import PlannedRung
from workers.video.probe import VideoProbe
from workers.video.safe_open import open_input


def _header_allows(found: VideoProbe, plan: list[PlannedRung], settings: VideoSettings) -> bool:
    return (
        found.container == "mov"
        and found.video_codec == "h264"
        and found.pix_fmt == "yuv420p"
        and found.audio_codec in (None, "aac")
        and found.rotation == 0
        and found.width % 2 == 0
        and found.height % 2 == 0
        and min(found.width, found.height) <= settings.remux_max_short_side
        and 0 < found.bitrate <= settings.remux_max_bitrate
        and len(plan) == 1
        and (plan[0].width, plan[0].height) == (found.width, found.height)
    )


def _keyframe_gap_seconds(source: Path, settings: VideoSettings) -> float:
    """Longest time between two keyframes (and after the last), from packets only."""
    with open_input(source, settings.allowed_containers) as src:
        video = src.streams.video[0]
        last_key, last_time, gap = None, 0.0, 0.0
        for packet in src.demux(video):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            last_time = max(last_time, t)
            if packet.is_keyframe:
                gap = max(gap, t - last_key) if last_key is not None else gap
                last_key = t
        if last_key is None:
            return float("inf")
        return max(gap, last_time - last_key)


def should_remux(
    source: Path, found: VideoProbe, plan: list[PlannedRung], settings: VideoSettings
) -> bool:
    if not _header_allows(found, plan, settings):
        return False
    return _keyframe_gap_seconds(source, settings) <= settings.remux_max_keyframe_interval_seconds


def remux(
    source: Path, rung: PlannedRung, rung_dir: Path, settings: VideoSettings
) -> hls.Rendition:
    """Copy the source's packets into one HLS rendition at ``rung_dir``."""
    rung_dir.mkdir(parents=True, exist_ok=True)
    with open_input(source, settings.allowed_containers) as src:
        video = src.streams.video[0]
        audio = src.streams.audio[0] if src.streams.audio else None
        avcc = bytes(video.codec_context.extradata or b"\x01\x64\x00\x1e")
        codecs = f"avc1.{avcc[1]:02x}{avcc[2]:02x}{avcc[3]:02x}"
        with av.open(
            str(rung_dir / hls.MEDIA_PLAYLIST),
            mode="w",
            format="hls",
            options=hls.muxer_options(rung_dir, settings.segment_seconds),
        ) as out:
            targets: dict[int, Stream] = {video.index: out.add_stream_from_template(video)}
            if audio is not None:
                targets[audio.index] = out.add_stream_from_template(audio)
                codecs += ",mp4a.40.2"
            for packet in src.demux(*(s for s in (video, audio) if s is not None)):
                if packet.dts is None:
                    continue
                packet.stream = targets[packet.stream.index]
                out.mux(packet)
    peak, average = hls.finish_media_playlist(rung_dir)
    return hls.Rendition(rung.name, rung.width, rung.height, codecs, peak, average)
