"""Read back HLS output in the tests: parse playlists and decode every segment with PyAV."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import av

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def master_entries(master: Path) -> list[tuple[dict[str, str], str]]:
    """(attributes, uri) of every ``#EXT-X-STREAM-INF`` in a master playlist."""
    lines = master.read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    entries = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = {k: v.strip('"') for k, v in _ATTRIBUTE.findall(line.split(":", 1)[1])}
            entries.append((attrs, lines[i + 1]))
    return entries


def media_segments(playlist: Path) -> list[tuple[float, str]]:
    """(duration, uri) of every segment of a VOD media playlist."""
    lines = playlist.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and "#EXT-X-ENDLIST" in lines
    segments, duration = [], 0.0
    for line in lines:
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append((duration, line))
    return segments


@dataclass
class DecodedRendition:
    sizes: set[tuple[int, int]] = field(default_factory=set)
    video_frames: int = 0
    audio_frames: int = 0
    #: Presentation time of the first frame of each segment, and whether it was a keyframe.
    segment_starts: list[tuple[float, bool]] = field(default_factory=list)


def decode_rendition(playlist: Path) -> DecodedRendition:
    """Decode every segment of a media playlist (fails on any segment that does not decode)."""
    out = DecodedRendition()
    for _, uri in media_segments(playlist):
        with av.open(str(playlist.parent / uri)) as segment:
            first = True
            streams = [*segment.streams.video, *segment.streams.audio]
            for frame in segment.decode(*streams):
                if isinstance(frame, av.VideoFrame):
                    if first:
                        out.segment_starts.append((float(frame.time or 0.0), frame.key_frame))
                        first = False
                    out.sizes.add((frame.width, frame.height))
                    out.video_frames += 1
                else:
                    out.audio_frames += 1
    return out
