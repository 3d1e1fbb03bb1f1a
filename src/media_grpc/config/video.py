"""Settings of video processing (MEDIA_VIDEO__*).

Scalars are set per field (``MEDIA_VIDEO__MAX_DURATION_SECONDS=300``); the ladder is a JSON list
(``MEDIA_VIDEO__RUNGS='[{"name": "480p", "short_side": 480, "max_bitrate": 1500000, ...}]'``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Rung(BaseModel):
    """One rendition of the HLS ladder (H.264 + AAC)."""

    #: Rendition name, used in keys (``720p/index.m3u8``) and variant names (``hls_720p``).
    name: str
    #: Short side of the picture in pixels (the height of a landscape video, the width of a
    #: portrait one). A rung is made only when the source's short side is at least this big.
    short_side: int
    #: Target video bitrate in bits/s in ``bitrate`` mode; ignored in ``crf`` mode.
    video_bitrate: int
    #: Video bitrate cap in bits/s (x264 VBV maxrate), in both modes.
    max_bitrate: int
    #: VBV buffer in bits (x264 bufsize): the window over which ``max_bitrate`` holds.
    bufsize: int
    #: AAC bitrate in bits/s.
    audio_bitrate: int


# Apple's HLS authoring figures, rounded down for ``veryfast`` x264 at 30 fps: a row per rung.
_LADDER = (
    # name, short_side, video_bitrate, max_bitrate, bufsize, audio_bitrate
    ("360p", 360, 800_000, 1_000_000, 2_000_000, 96_000),
    ("720p", 720, 2_500_000, 3_000_000, 6_000_000, 128_000),
    ("1080p", 1080, 5_000_000, 6_000_000, 12_000_000, 128_000),
    ("2160p", 2160, 14_000_000, 16_000_000, 32_000_000, 160_000),
)
#: The ladder above as ``Rung`` values, smallest first.
DEFAULT_RUNGS: tuple[Rung, ...] = tuple(
    Rung.model_validate(dict(zip(Rung.model_fields, row, strict=True))) for row in _LADDER
)


class VideoSettings(BaseModel):
    """Video ladder, caps and time limits."""

    #: Renditions, smallest first; only those no bigger than the source are made.
    rungs: tuple[Rung, ...] = DEFAULT_RUNGS
    #: Target HLS segment length in seconds; keyframes are forced on these boundaries.
    segment_seconds: float = 6.0
    #: x264 preset (speed/size trade-off): ultrafast ... veryslow.
    x264_preset: str = "veryfast"
    #: ``crf``: constant quality capped by each rung's ``max_bitrate``; ``bitrate``: each
    #: rung's ``video_bitrate`` as the average target, capped the same way.
    rate_control: Literal["crf", "bitrate"] = "crf"
    #: x264 constant rate factor in ``crf`` mode (lower is better, 18-28 is sensible).
    crf: int = 23
    #: Threads of the decoder and of each x264 encoder; 0 lets FFmpeg and x264 pick.
    threads: int = 0
    #: Threads of each rung's scaler. Every rung already scales on its own thread, so more
    #: only adds synchronisation (+4 % CPU on the 1080p benchmark with 0 = one per core).
    scale_threads: int = 1

    #: Longest video accepted, in seconds.
    max_duration_seconds: float = 600.0
    #: Largest picture accepted, in pixels per frame (4096x2160 by default).
    max_pixels: int = 4096 * 2160
    #: Highest frame rate accepted, in frames per second.
    max_frame_rate: float = 120.0
    #: Most streams (video, audio, data, subtitles) a file may have.
    max_streams: int = 8
    #: FFmpeg demuxers inputs may be opened with. ``mov`` covers MP4/MOV/M4V/3GP,
    #: ``matroska`` covers MKV/WebM. Playlist demuxers (hls, concat, ...) are never allowed.
    allowed_containers: tuple[Literal["mov", "matroska"], ...] = ("mov", "matroska")

    #: Where the poster frame is taken, as a fraction of the duration.
    poster_position: float = 0.10
    #: Longest side of the small poster, in pixels.
    poster_small_side: int = 600
    #: WebP quality of the posters (0-100).
    poster_quality: int = 80

    #: Wall-clock limit of one video job (probe, poster, ladder), in seconds.
    job_time_limit_seconds: float = 900.0

    #: Remux instead of re-encoding when the source is H.264 (8-bit 4:2:0) + AAC (or silent),
    #: unrotated, at most this short side in pixels, ...
    remux_max_short_side: int = 360
    #: ... at most this overall bitrate in bits/s, ...
    remux_max_bitrate: int = 1_200_000
    #: ... and has a keyframe at least every this many seconds (so segments stay short).
    remux_max_keyframe_interval_seconds: float = 6.0
