"""One HLS rendition being written: an H.264 + AAC encoder pair feeding FFmpeg's hls muxer.

Frames are decoded once by the caller and handed to every rung's encoder; each rung scales
with its own reusable swscale context. Keyframes are decided by the caller (``pict_type`` I on
the first frame of each segment) and x264's own keyframe choice is made deterministic (fixed
keyint, no scenecut), so every rung has keyframes on the same frames and players can switch
at any segment. ``RungWorker`` runs one rung on its own thread: swscale, x264 and the muxer
release the GIL, so one rung's blocking encode call does not hold up the others.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.video.frame import VideoFrame
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
        self.scale_threads = settings.scale_threads
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

    def encode_video(self, frame: VideoFrame | None) -> None:
        """Scale ``frame`` to the rung and encode it; its ``pict_type`` (I or NONE) is kept."""
        if frame is not None:
            scaled = self.scaler.reformat(
                frame,
                width=self.rung.width,
                height=self.rung.height,
                format="yuv420p",
                interpolation=Interpolation.BICUBIC,
                threads=self.scale_threads,
            )
            if scaled is not frame:
                scaled.pict_type = frame.pict_type
            frame = scaled
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
        peak, average = hls.finish_media_playlist(self.rung_dir)
        return hls.Rendition(
            self.rung.name, self.rung.width, self.rung.height, codecs, peak, average
        )

    def abandon(self) -> None:
        with contextlib.suppress(av.FFmpegError):
            self.output.close()


#: Frames a rung's thread may lag behind the decoder (bounds memory: ~3 MB per 1080p frame).
QUEUE_DEPTH = 8

_Item = tuple[VideoFrame | None, AudioFrame | None]


class RungWorker:
    """Feeds one RungEncoder from a bounded queue on its own thread.

    Only this thread touches the rung's encoders and muxer. An error stops the encoding but
    the queue keeps being drained, so the producer never blocks on a dead rung; the error is
    raised from ``put`` (early) or ``close``.
    """

    def __init__(self, encoder: RungEncoder) -> None:
        self.encoder = encoder
        self.queue: queue.Queue[_Item | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.error: BaseException | None = None
        self.rendition: hls.Rendition | None = None
        self.thread = threading.Thread(
            target=self._work, name=f"rung-{encoder.rung.name}", daemon=True
        )
        self.thread.start()

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue
            video, audio = item
            try:
                if video is not None:
                    self.encoder.encode_video(video)
                else:
                    self.encoder.encode_audio(audio)
            except BaseException as e:  # noqa: BLE001 - handed to the producer
                self.error = e
        if self.error is None:
            try:
                self.rendition = self.encoder.finish()
            except BaseException as e:  # noqa: BLE001
                self.error = e
        if self.error is not None:
            self.encoder.abandon()

    def put(self, video: VideoFrame | None = None, audio: AudioFrame | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((video, audio))

    def close(self) -> hls.Rendition:
        """Flush and finish the rung; raises the rung's error if it had one."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.rendition is not None
        return self.rendition

    def abandon(self) -> None:
        """Stop the rung after an error elsewhere (its partial output is left to the caller)."""
        self.error = self.error or RuntimeError("abandoned")
        self.queue.put(None)
        self.thread.join()
