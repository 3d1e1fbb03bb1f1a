"""HLS layout: media playlist options, the master playlist, and what gets uploaded how.

Layout under the media's output prefix::

    master.m3u8                 BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS per rung
    {rung}/index.m3u8           VOD media playlist, ~segment_seconds per segment
    {rung}/seg_00001.ts ...     MPEG-TS segments (H.264 + AAC)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from media_grpc.domain.stage import OutputObject

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
#: Playlists may be rewritten by a reprocess: cached briefly.
PLAYLIST_CACHE = "public, max-age=60"
#: A segment's bytes never change under its key.
SEGMENT_CACHE = "public, max-age=31536000, immutable"
MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
#: Shortest time a segment is counted as lasting when its peak bitrate is computed, in seconds.
MIN_PEAK_SECONDS = 0.5


def muxer_options(rung_dir: Path, segment_seconds: float) -> dict[str, str]:
    """Options of FFmpeg's ``hls`` muxer (an output: it only writes under ``rung_dir``)."""
    return {
        "hls_time": f"{segment_seconds:g}",
        "hls_playlist_type": "vod",
        "hls_segment_type": "mpegts",
        "hls_segment_filename": str(rung_dir / SEGMENT_PATTERN),
        "hls_flags": "independent_segments",
        "start_number": "1",
    }


def avc1_codec(annexb: bytes) -> str | None:
    """RFC 6381 ``avc1.PPCCLL`` from the first SPS NAL in an Annex B H.264 packet."""
    start = 0
    while True:
        i = annexb.find(b"\x00\x00\x01", start)
        if i < 0 or i + 6 > len(annexb):
            return None
        if annexb[i + 3] & 0x1F == 7:
            profile, constraints, level = annexb[i + 4 : i + 7]
            return f"avc1.{profile:02x}{constraints:02x}{level:02x}"
        start = i + 3


@dataclass(frozen=True)
class Rendition:
    """What the master playlist says of one rung."""

    name: str
    width: int
    height: int
    codecs: str
    peak_bitrate: int
    average_bitrate: int


def finish_media_playlist(rung_dir: Path) -> tuple[int, int]:
    """Make ``rung_dir``'s media playlist valid for very short clips; (peak, average) bits/s.

    RFC 8216 4.3.3.1: ``EXT-X-TARGETDURATION`` is a positive integer no smaller than any
    segment's EXTINF rounded to the nearest integer. FFmpeg writes 0 for a one-frame clip, so
    the target is rewritten as at least 1 and at least every rounded segment duration.
    """
    path = rung_dir / MEDIA_PLAYLIST
    lines = path.read_text().splitlines()
    durations = [
        float(line.removeprefix("#EXTINF:").split(",")[0])
        for line in lines
        if line.startswith("#EXTINF:")
    ]
    target = max([1, *(math.floor(d + 0.5) for d in durations)])
    fixed = [
        f"#EXT-X-TARGETDURATION:{target}" if line.startswith("#EXT-X-TARGETDURATION:") else line
        for line in lines
    ]
    path.write_text("\n".join(fixed) + "\n")
    return segment_bitrates(rung_dir)


def segment_bitrates(rung_dir: Path) -> tuple[int, int]:
    """(peak, average) bits/s over the segments of ``rung_dir``'s media playlist.

    The peak is the highest segment bitrate, each segment counted as lasting at least
    ``MIN_PEAK_SECONDS``, and never below the average (RFC 8216 4.3.4.2: BANDWIDTH is an
    upper bound, AVERAGE-BANDWIDTH the mean). A playlist whose segments add up to no time
    at all (one frame without a duration) counts as lasting ``MIN_PEAK_SECONDS``.
    """
    lines = (rung_dir / MEDIA_PLAYLIST).read_text().splitlines()
    peak, total_bits, total_seconds = 0.0, 0, 0.0
    duration = 0.0
    for line in lines:
        if line.startswith("#EXTINF:"):
            duration = float(line.removeprefix("#EXTINF:").split(",")[0])
        elif line and not line.startswith("#"):
            bits = (rung_dir / line).stat().st_size * 8
            total_bits += bits
            total_seconds += duration
            peak = max(peak, bits / max(duration, MIN_PEAK_SECONDS))
    average = total_bits / (total_seconds or MIN_PEAK_SECONDS)
    return math.ceil(max(peak, average)), math.ceil(average)


def write_master(path: Path, renditions: list[Rendition]) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: r.peak_bitrate):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.peak_bitrate},AVERAGE-BANDWIDTH={r.average_bitrate},"
            f'RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}"'
        )
        lines.append(f"{r.name}/{MEDIA_PLAYLIST}")
    path.write_text("\n".join(lines) + "\n")


def output_objects(hls_dir: Path) -> tuple[OutputObject, ...]:
    """Every file under ``hls_dir`` with its key, content type and cache policy."""
    objects = []
    for path in sorted(p for p in hls_dir.rglob("*") if p.is_file()):
        key = path.relative_to(hls_dir).as_posix()
        if path.suffix == ".m3u8":
            objects.append(OutputObject(path, key, PLAYLIST_TYPE, PLAYLIST_CACHE))
        else:
            objects.append(OutputObject(path, key, SEGMENT_TYPE, SEGMENT_CACHE))
    return tuple(objects)
