"""One HLS rendition being written: an H.264 + AAC encoder pair feeding FFmpeg's hls muxer.

Frames are decoded once by the caller and handed to every rung's encoder; each rung scales
with its own reusable swscale context. Keyframes are decided by the caller (forced on segment
boundaries) and x264's own keyframe choice is made deterministic (fixed keyint, no scenecut),
so every rung has keyframes on the same frames and players can switch at any segment.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.video.frame import PictureType, VideoFrame
from av.video.reformatter import Interpolation, VideoReformatter
from av.video.stream import VideoStream

from media_grpc.config.video import VideoSettings
from workers.video import hls
from workers.video.ladder import PlannedRung

#: Sample rate of the AAC output, in Hz.
AUDIO_RATE = 48_000


def x264_options(rung: PlannedRung, settings: VideoSettings, gop: int) -> dict[str, str]:
    """libx264 options of a rung: preset, rate control with a VBV cap, aligned keyframes."""
    options = {
        "preset": settings.x264_preset,
        "profile": "high",
        "maxrate": str(rung.rung.max_bitrate),
        "bufsize": str(rung.rung.bufsize),
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0",
    }
    if settings.rate_control == "crf":
        options["crf"] = str(settings.crf)
    else:
        options["b"] = str(rung.rung.video_bitrate)
    return options


class RungEncoder:
    """Encodes frames for one rung into ``rung_dir/index.m3u8`` and its segments."""

    def __init__(
        self,
        rung: PlannedRung,
        rung_dir: Path,
        time_base: Fraction,
        frame_rate: float,
        with_audio: bool,
        settings: VideoSettings,
    ) -> None:
        self.rung = rung
        self.rung_dir = rung_dir
        self.threads = settings.threads
        self.first_packet: bytes | None = None
        rung_dir.mkdir(parents=True, exist_ok=True)
        self.output = av.open(
            str(rung_dir / hls.MEDIA_PLAYLIST),
            mode="w",
            format="hls",
            options=hls.muxer_options(rung_dir, settings.segment_seconds),
        )
        rate = Fraction(frame_rate).limit_denominator(1001) if frame_rate > 0 else Fraction(30)
        gop = max(1, round(settings.segment_seconds * float(rate)))
        video: VideoStream = self.output.add_stream(
            "libx264", rate=rate, options=x264_options(rung, settings, gop)
        )
        video.width, video.height, video.pix_fmt = rung.width, rung.height, "yuv420p"
        video.codec_context.time_base = time_base
        video.codec_context.thread_count = settings.threads
        # PyAV defaults encoders to slice threads; frame threads (what ffmpeg uses) are faster.
        video.codec_context.thread_type = "AUTO"
        self.video = video
        self.audio: AudioStream | None = None
        if with_audio:
            audio: AudioStream = self.output.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            audio.bit_rate = rung.rung.audio_bitrate
            self.audio = audio
        self.scaler = VideoReformatter()

    def encode_video(self, frame: VideoFrame | None, keyframe: bool = False) -> None:
        if frame is not None:
            frame = self.scaler.reformat(
                frame,
                width=self.rung.width,
                height=self.rung.height,
                format="yuv420p",
                interpolation=Interpolation.BICUBIC,
                threads=self.threads,
            )
            frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        for packet in self.video.encode(frame):
            if self.first_packet is None:
                self.first_packet = bytes(packet)
            self.output.mux(packet)

    def encode_audio(self, frame: AudioFrame | None) -> None:
        if self.audio is None:
            return
        for packet in self.audio.encode(frame):
            self.output.mux(packet)

    def finish(self) -> hls.Rendition:
        """Flush both encoders, close the playlist and describe the rendition."""
        self.encode_video(None)
        self.encode_audio(None)
        self.output.close()
        headers = bytes(self.video.codec_context.extradata or b"") + (self.first_packet or b"")
        codecs = hls.avc1_codec(headers) or "avc1.640028"
        if self.audio is not None:
            codecs += ",mp4a.40.2"
        peak, average = hls.segment_bitrates(self.rung_dir)
        return hls.Rendition(
            self.rung.name, self.rung.width, self.rung.height, codecs, peak, average
        )

    def abandon(self) -> None:
        with contextlib.suppress(av.FFmpegError):
            self.output.close()
