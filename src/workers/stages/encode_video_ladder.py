"""Stage: the H.264/AAC HLS ladder of a video, decoded once.

Every frame is decoded once (threaded decoder), turned upright once, and handed to each rung's
encoder, which scales it with its own swscale context: there is no per-rung re-decode. The
outputs are written under ``work_dir/hls`` and removed again if anything fails, so a failed
transcode leaves nothing behind to upload or reference.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.container import InputContainer
from av.video.frame import VideoFrame

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason, Variant, VariantKind
from workers.stage import MediaRejected, StageJob, StageOutcome, StageResult
from workers.stages.probe_media import VideoProbe, probe
from workers.video import hls
from workers.video.ladder import PlannedRung, plan_ladder
from workers.video.remux import remux, should_remux
from workers.video.rotate import Rotator
from workers.video.rung_encoder import RungEncoder
from workers.video.safe_open import open_input


def _decoded(src: InputContainer, with_audio: bool) -> Iterator[VideoFrame | AudioFrame]:
    """Frames of the first video (and audio) stream; unreadable input raises CORRUPT."""
    streams = [src.streams.video[0]] + ([src.streams.audio[0]] if with_audio else [])
    packets = src.demux(*streams)
    while True:
        try:
            packet = next(packets, None)
            if packet is None:
                return
            frames = packet.decode()
        except av.FFmpegError as e:
            raise MediaRejected(FailureReason.CORRUPT, f"the video does not decode: {e}") from None
        yield from frames  # type: ignore[misc]


class KeyframeClock:
    """Says which frames start a segment: the first at or after each boundary."""

    def __init__(self, segment_seconds: float) -> None:
        self.segment_seconds = segment_seconds
        self.next_boundary: float | None = None

    def due(self, t: float) -> bool:
        if self.next_boundary is None:
            self.next_boundary = t
        if t + 1e-6 < self.next_boundary:
            return False
        while self.next_boundary <= t + 1e-6:
            self.next_boundary += self.segment_seconds
        return True


def transcode(
    source: Path, found: VideoProbe, plan: list[PlannedRung], hls_dir: Path, settings: VideoSettings
) -> list[hls.Rendition]:
    with open_input(source, settings.allowed_containers) as src:
        video = src.streams.video[0]
        video.thread_type = "AUTO"
        video.codec_context.thread_count = settings.threads
        time_base = video.time_base or video.codec_context.time_base
        encoders = [
            RungEncoder(r, hls_dir / r.name, time_base, found.frame_rate, found.has_audio, settings)
            for r in plan
        ]
        try:
            rotator = Rotator(video, found.rotation)
            clock = KeyframeClock(settings.segment_seconds)
            last_time, frames = float("-inf"), 0
            for frame in _decoded(src, found.has_audio):
                if isinstance(frame, AudioFrame):
                    for encoder in encoders:
                        encoder.encode_audio(frame)
                    continue
                for upright in rotator.apply(frame):
                    t = upright.time
                    if t is None or t <= last_time:
                        continue  # no timestamp, or not after the last one: x264 refuses it
                    last_time, frames = t, frames + 1
                    key = clock.due(t)
                    for encoder in encoders:
                        encoder.encode_video(upright, key)
            if frames == 0:
                raise MediaRejected(FailureReason.CORRUPT, "the video stream has no frames")
            return [encoder.finish() for encoder in encoders]
        except BaseException:
            for encoder in encoders:
                encoder.abandon()
            raise


def encode(source: Path, work_dir: Path, settings: VideoSettings, found: VideoProbe) -> StageResult:
    """The ladder of an already probed source (see ``run``)."""
    hls_dir = work_dir / "hls"
    shutil.rmtree(hls_dir, ignore_errors=True)
    hls_dir.mkdir(parents=True)
    plan = plan_ladder(found.width, found.height, settings.rungs)
    try:
        remuxed = should_remux(source, found, plan, settings)
        if remuxed:
            renditions = [_remux(source, plan[0], hls_dir, settings)]
        else:
            renditions = transcode(source, found, plan, hls_dir, settings)
        hls.write_master(hls_dir / hls.MASTER, renditions)
    except BaseException:
        shutil.rmtree(hls_dir, ignore_errors=True)
        raise
    variants = tuple(
        Variant(
            name=f"hls_{r.name}",
            kind=VariantKind.VIDEO,
            storage_key=f"{r.name}/{hls.MEDIA_PLAYLIST}",
            width=r.width,
            height=r.height,
            bitrate=r.average_bitrate,
            mime_type=hls.PLAYLIST_TYPE,
        )
        for r in renditions
    )
    return StageResult(
        outcome=StageOutcome.SUCCESS,
        objects=hls.output_objects(hls_dir),
        variants=variants,
        width=found.width,
        height=found.height,
        duration_ms=found.duration_ms,
        metadata={**found.metadata(), "remuxed": str(remuxed).lower()},
        hls_key=hls.MASTER,
    )


def _remux(
    source: Path, rung: PlannedRung, hls_dir: Path, settings: VideoSettings
) -> hls.Rendition:
    try:
        return remux(source, rung, hls_dir / rung.name, settings)
    except av.FFmpegError as e:
        raise MediaRejected(FailureReason.CORRUPT, f"the video does not remux: {e}") from None


def run(job: StageJob, source_path: Path, work_dir: Path, settings: VideoSettings) -> StageResult:
    """Probe (with the caps) and encode the ladder into ``work_dir/hls``."""
    return encode(source_path, work_dir, settings, probe(source_path, settings))
