"""Tiny video clips made with PyAV for the tests (nothing binary is committed).

Frames are flat colours (red level 7 x index) with a yellow bar along the top-left that grows by
1/80 of the width every frame, so a frame's index and orientation can be read back from its
pixels; audio is a 440 Hz tone.
"""

from __future__ import annotations

import math
from array import array
from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.video.stream import VideoStream
from PIL import Image, ImageDraw

from media_grpc.config.video import Rung


def rung(name: str, short_side: int) -> Rung:
    """A rung with bitrates in proportion to its size."""
    return Rung(
        name=name,
        short_side=short_side,
        video_bitrate=short_side * 1500,
        max_bitrate=short_side * 2000,
        bufsize=short_side * 4000,
        audio_bitrate=64_000,
    )


#: A miniature ladder for tests: a 640x360 clip gets all three rungs.
SMALL_RUNGS = (rung("144p", 144), rung("240p", 240), rung("360p", 360))

#: Where the yellow bar of an early frame (top-left of the coded picture) appears once a clip
#: made with ``rotate`` is displayed upright, as (x, y) fractions of the upright picture.
UPRIGHT_MARKER = {0: (0.02, 0.25), 90: (0.25, 0.975), -90: (0.75, 0.025), 180: (0.975, 0.75)}


def shows_marker(image: Image.Image, rotate: int) -> bool:
    """True when the bar of ``UPRIGHT_MARKER`` is where an upright picture has it."""
    fx, fy = UPRIGHT_MARKER[rotate]
    red, _, blue = image.convert("RGB").getpixel((int(fx * image.width), int(fy * image.height)))
    return red > 180 and blue < 80


#: Encoder options that keep the clip makers fast and quiet.
_QUIET_FAST = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=none"},
    "libsvtav1": {"preset": "12", "svtav1-params": "log-level=0"},
}

#: Audio codec per container when ``audio=True``.
_AUDIO_CODEC = {"mp4": "aac", "mov": "aac", "matroska": "libopus", "webm": "libopus"}


def _frame(index: int, width: int, height: int) -> av.VideoFrame:
    image = Image.new("RGB", (width, height), ((index * 7) % 256, 60, 120))
    bar = (index * width // 80) % max(1, width)
    ImageDraw.Draw(image).rectangle((0, 0, bar, height // 2), fill=(240, 230, 20))
    return av.VideoFrame.from_image(image)


def _write_audio(out: av.container.OutputContainer, stream: AudioStream, seconds: float) -> None:
    rate = 48_000
    size = stream.codec_context.frame_size or 960
    total, pos = int(seconds * rate), 0
    while pos < total:
        n = min(size, total - pos)
        samples = array(
            "h", (int(8000 * math.sin(2 * math.pi * 440 * (pos + i) / rate)) for i in range(n))
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = rate, pos
        for packet in stream.encode(frame):
            out.mux(packet)
        pos += n
    for packet in stream.encode(None):
        out.mux(packet)


def _write_video(
    out: av.container.OutputContainer, stream: VideoStream, times: list[float], timed: bool
) -> None:
    for index, t in enumerate(times):
        frame = _frame(index, stream.width, stream.height)
        if timed:
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
        else:
            frame.pts = index
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def make_clip(
    path: Path,
    width: int,
    height: int,
    seconds: float,
    fps: int = 30,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = True,
    rotate: int | None = None,
    frame_times: list[float] | None = None,
    video: bool = True,
) -> Path:
    """Write a clip and return its path.

    ``rotate`` sets a counter-clockwise display matrix (as phones do); ``frame_times`` (seconds)
    makes a variable-frame-rate clip instead of ``fps``; ``video=False`` writes audio only.
    """
    with av.open(str(path), mode="w", format=container) as out:
        picture: VideoStream | None = None
        if video:
            picture = out.add_stream(codec, rate=fps)
            picture.width, picture.height = width, height
            # 4:2:0 needs even sizes: odd H.264 clips are 4:4:4 (VP9 handles odd 4:2:0 itself).
            odd = width % 2 or height % 2
            picture.pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"
            picture.options = _QUIET_FAST.get(codec, {})
            if frame_times is not None:
                picture.codec_context.time_base = Fraction(1, 1000)
            if rotate:
                picture.set_display_rotation(rotate)
        sound: AudioStream | None = None
        if audio:
            sound = out.add_stream(_AUDIO_CODEC[container], rate=48_000, layout="mono")
        if picture is not None:
            times = frame_times or [i / fps for i in range(round(seconds * fps))]
            _write_video(out, picture, times, timed=frame_times is not None)
        if sound is not None:
            _write_audio(out, sound, seconds)
    return path


def _rewrite(
    source: Path,
    path: Path,
    container: str = "mp4",
    options: dict[str, str] | None = None,
    shift_seconds: Fraction = Fraction(0),
) -> Path:
    """``source``'s packets copied into a new file of ``container`` (muxer ``options``), every
    timestamp ``shift_seconds`` earlier (in an MP4, packets before 0 s are then left out by an
    edit list, as a cut made without re-encoding leaves them)."""
    with (
        av.open(str(source)) as src,
        av.open(str(path), "w", format=container, options=options or {}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None or packet.pts is None or packet.time_base is None:
                continue
            shift = round(shift_seconds / packet.time_base)
            packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return path


def make_faststart_clip(path: Path, width: int = 320, height: int = 180) -> Path:
    """A 2 s MP4 with its index first (``faststart``, as streaming tools write it)."""
    whole = make_clip(path.with_suffix(".whole.mp4"), width, height, seconds=2)
    return _rewrite(whole, path, options={"movflags": "faststart"})


def make_truncated_clip(
    path: Path, width: int = 320, height: int = 180, fraction: float = 0.3
) -> Path:
    """A ``faststart`` MP4 cut at ``fraction`` of its bytes: it probes, and fails once the
    missing frames are needed."""
    data = make_faststart_clip(path, width, height).read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def make_clip_cut_between_frames(path: Path, width: int = 320, height: int = 180) -> Path:
    """A ``faststart`` MP4 cut exactly where a packet halfway through ends: every packet left
    is whole, and the rest of the video is simply missing."""
    make_faststart_clip(path, width, height)
    with av.open(str(path)) as src:
        ends = sorted(p.pos + p.size for p in src.demux() if p.size and p.pos is not None)
    data = path.read_bytes()
    path.write_bytes(data[: ends[len(ends) // 2]])
    return path


def make_cut_webm(path: Path, fraction: float, live: bool = False) -> Path:
    """A 2 s VP9 WebM cut at ``fraction`` of its bytes. ``live`` writes it as a live recording
    (as a browser's MediaRecorder does): no size in its header, no index at its end."""
    whole = make_clip(
        path.with_suffix(".whole.webm"), 320, 180, 2, codec="libvpx-vp9", container="webm"
    )
    if live:
        whole = _rewrite(whole, path, "webm", {"live": "1"})
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def make_edit_listed_clip(path: Path, width: int = 320, height: int = 180) -> Path:
    """A whole MP4 whose edit list leaves its first second's audio packets out of playback."""
    whole = make_clip(path.with_suffix(".whole.mp4"), width, height, seconds=2)
    return _rewrite(whole, path, shift_seconds=Fraction(1))
