"""Stage: the H.264/AAC HLS ladder of a video, decoded once.

Every frame is decoded once (threaded decoder), turned upright once, and handed to each rung's
thread, which scales it with its own swscale context and encodes it: there is no per-rung
re-decode. The
outputs are written under ``work_dir/hls`` and removed again if anything fails, so a failed
transcode leaves nothing behind to upload or reference.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from av.audio.frame import AudioFrame
from av.container import InputContainer
from av.video.frame import PictureType, VideoFrame

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import FailureReason, Variant, VariantKind
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome, StageResult
from workers.stages.probe_media import VideoProbe, probe
from workers.video import hls
from workers.video.ladder import PlannedRung, plan_ladder
from workers.video.remux import remux, should_remux
from workers.video.rotate import Rotator
from workers.video.rung_encoder import RungEncoder, RungWorker
from workers.video.safe_open import decoding, open_input
from workers.video.whole_file import require_every_sample


def _decoded(src: InputContainer, with_audio: bool) -> Iterator[VideoFrame | AudioFrame]:
    """Frames of the first video (and audio) stream; unreadable input raises CORRUPT."""
    streams = [src.streams.video[0]] + ([src.streams.audio[0]] if with_audio else [])
    packets = src.demux(*streams)
    while True:
        with decoding():
            packet = next(packets, None)
            if packet is None:
                return
            frames = packet.decode()
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
        workers: list[RungWorker] = []
        try:
            for r in plan:
                rung_dir = hls_dir / r.name
                encoder = RungEncoder(
                    r, rung_dir, time_base, found.frame_rate, found.has_audio, settings
                )
                workers.append(RungWorker(encoder))
            _feed(src, found, settings, workers)
            return [worker.close() for worker in workers]
        except BaseException:
            for worker in workers:
                worker.abandon()
            raise


def _feed(
    src: InputContainer, found: VideoProbe, settings: VideoSettings, workers: list[RungWorker]
) -> None:
    """Decode once and hand every frame to every rung, keyframes marked on segment starts."""
    rotator = Rotator(src.streams.video[0], found.rotation)
    clock = KeyframeClock(settings.segment_seconds)
    last_time, frames = float("-inf"), 0
    for frame in _decoded(src, found.has_audio):
        if isinstance(frame, AudioFrame):
            for worker in workers:
                worker.put(audio=frame)
            continue
        for upright in rotator.apply(frame):
            t = upright.time
            if t is None or t <= last_time:
                continue  # no timestamp, or not after the last one: x264 refuses it
            last_time, frames = t, frames + 1
            upright.pict_type = PictureType.I if clock.due(t) else PictureType.NONE
            for worker in workers:
                worker.put(video=upright)
    if frames == 0:
        raise MediaRejected(FailureReason.CORRUPT, "the video stream has no frames")


def encode(source: Path, work_dir: Path, settings: VideoSettings, found: VideoProbe) -> StageResult:
    """The ladder of an already probed source that holds every sample (see ``run``)."""
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
            size_bytes=sum(f.stat().st_size for f in (hls_dir / r.name).iterdir()),
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
    with decoding():
        return remux(source, rung, hls_dir / rung.name, settings)


def run(job: StageJob, source_path: Path, work_dir: Path, settings: VideoSettings) -> StageResult:
    """Probe (with the caps), refuse a file cut short, and encode the ladder into
    ``work_dir/hls``."""
    found = probe(source_path, settings)
    require_every_sample(source_path, settings.allowed_containers)
    return encode(source_path, work_dir, settings, found)
