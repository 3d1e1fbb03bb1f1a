"""Stage: probe a video and enforce the caps before anything is decoded.

Reads the container's header (no decoding) for container, codecs, size, duration, frame rate,
bitrate and stream count, checks them against the caps in VideoSettings, and only then decodes
the first frame to learn the rotation (display matrix) and prove the stream decodes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from av.codec.context import CodecContext
from av.container import InputContainer
from av.video.stream import VideoStream

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome, StageResult
from workers.video.probe import VideoProbe as VideoProbe  # re-exported for the stages
from workers.video.safe_open import decoding, open_input


def _duration(
    path: Path, container: InputContainer, video: VideoStream, settings: VideoSettings
) -> float:
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return _demuxed_duration(path, settings)


def _demuxed_duration(path: Path, settings: VideoSettings) -> float:
    """Seconds from the first packet to the end of the last, read from the packets without
    decoding, for a file whose header gives no duration (a live WebM, as a browser's
    MediaRecorder writes). Stops once past the duration cap: that is too long already."""
    first, end = float("inf"), float("-inf")
    with open_input(path, settings.allowed_containers) as src, decoding():
        for packet in src.demux(*src.streams.video, *src.streams.audio):
            if packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            first = min(first, start)
            end = max(end, start + float((packet.duration or 0) * packet.time_base))
            if end - first > settings.max_duration_seconds:
                break
    if end <= first:
        raise MediaRejected(FailureReason.CORRUPT, "the duration of the video is unknown")
    return end - first


def _file_bitrate(path: Path, duration: float) -> int:
    """Overall bits/s from the file size, when the container does not say."""
    return round(path.stat().st_size * 8 / max(duration, 0.001))


def _frame_rate(video: VideoStream) -> float:
    rate: Fraction | None = video.average_rate or video.guessed_rate or video.base_rate
    return float(rate) if rate else 0.0


def _codec_name(ctx: CodecContext) -> str:
    """The codec's own name (``av1``), not the decoder's (``libdav1d``)."""
    return str(ctx.codec.canonical_name) if ctx.codec is not None else str(ctx.name)


def _check_caps(probe: VideoProbe, settings: VideoSettings) -> None:
    if probe.stream_count > settings.max_streams:
        raise MediaRejected(
            FailureReason.LIMIT_EXCEEDED,
            f"{probe.stream_count} streams; at most {settings.max_streams} are accepted",
        )
    pixels = probe.coded_width * probe.coded_height
    if pixels > settings.max_pixels or pixels <= 0:
        raise MediaRejected(
            FailureReason.TOO_MANY_PIXELS,
            f"{probe.coded_width}x{probe.coded_height} is {pixels} pixels per frame; "
            f"at most {settings.max_pixels} are accepted",
        )
    if probe.duration_seconds > settings.max_duration_seconds:
        raise MediaRejected(
            FailureReason.LIMIT_EXCEEDED,
            f"{probe.duration_seconds:.1f} s long; at most "
            f"{settings.max_duration_seconds:.0f} s are accepted",
        )
    if probe.frame_rate > settings.max_frame_rate:
        raise MediaRejected(
            FailureReason.LIMIT_EXCEEDED,
            f"{probe.frame_rate:.1f} frames/s; at most {settings.max_frame_rate:.0f} are accepted",
        )


def _first_frame_rotation(container: InputContainer, video: VideoStream) -> int:
    with decoding():
        frame = next(container.decode(video), None)
    if frame is None:
        raise MediaRejected(FailureReason.CORRUPT, "the video stream has no decodable frame")
    return normalize_rotation(float(frame.rotation))


def normalize_rotation(degrees: float) -> int:
    """The nearest of 0, 90, 180, -90 (counter-clockwise degrees)."""
    quarter = round(degrees / 90) % 4
    return (0, 90, 180, -90)[quarter]


def probe(path: Path, settings: VideoSettings) -> VideoProbe:
    """Probe ``path`` and enforce the caps. Raises MediaRejected."""
    with open_input(path, settings.allowed_containers) as container:
        if not container.streams.video:
            raise MediaRejected(FailureReason.UNSUPPORTED_FORMAT, "the file has no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        ctx = video.codec_context
        if ctx.codec is None or not ctx.width or not ctx.height:
            raise MediaRejected(
                FailureReason.UNSUPPORTED_FORMAT, "the video codec is unknown or has no size"
            )
        start = video.start_time * video.time_base if video.start_time and video.time_base else 0
        duration = _duration(path, container, video, settings)
        result = VideoProbe(
            container=str(container.format.name),
            video_codec=str(ctx.codec.canonical_name),
            audio_codec=_codec_name(audio.codec_context) if audio else None,
            pix_fmt=str(ctx.format.name) if ctx.format else "",
            coded_width=int(ctx.width),
            coded_height=int(ctx.height),
            rotation=0,
            duration_seconds=duration,
            start_seconds=float(start),
            frame_rate=_frame_rate(video),
            bitrate=int(container.bit_rate or 0) or _file_bitrate(path, duration),
            stream_count=len(container.streams),
        )
        _check_caps(result, settings)
        rotation = _first_frame_rotation(container, video)
    return VideoProbe(**{**result.__dict__, "rotation": rotation})


def run(job: StageJob, source_path: Path, work_dir: Path, settings: VideoSettings) -> StageResult:
    """Probe only: the record's width/height (after rotation), duration and metadata."""
    found = probe(source_path, settings)
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        width=found.width,
        height=found.height,
        duration_ms=found.duration_ms,
        metadata=found.metadata(),
    )
