"""What probing a video found: a value the probe stage makes and the video modules read.

It lives in workers/video (not beside the probe stage) so that the video modules need nothing
from workers/stages: the stages import workers/video, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoProbe:
    """What the header and the first frame tell about a video."""

    container: str
    video_codec: str
    audio_codec: str | None
    pix_fmt: str
    coded_width: int
    coded_height: int
    #: Counter-clockwise rotation of the display matrix, in degrees: 0, 90, 180 or -90.
    rotation: int
    duration_seconds: float
    #: Seconds of the first video frame (the poster position is relative to it).
    start_seconds: float
    frame_rate: float
    #: Overall bitrate in bits/s.
    bitrate: int
    stream_count: int

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def width(self) -> int:
        """Display width, after rotation."""
        return self.coded_height if self.rotation in (90, -90) else self.coded_width

    @property
    def height(self) -> int:
        """Display height, after rotation."""
        return self.coded_width if self.rotation in (90, -90) else self.coded_height

    @property
    def duration_ms(self) -> int:
        return round(self.duration_seconds * 1000)

    def metadata(self) -> dict[str, str]:
        return {
            "container": self.container,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec or "",
            "frame_rate": f"{self.frame_rate:.3f}",
            "bitrate": str(self.bitrate),
            "has_audio": "true" if self.has_audio else "false",
            "rotation": str(self.rotation),
        }
