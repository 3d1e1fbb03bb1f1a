"""Settings of video processing (MEDIA_VIDEO__*)."""

from __future__ import annotations

from pydantic import BaseModel


class VideoSettings(BaseModel):
    """Video ladder, caps and time limits."""

    #: Longest video accepted, in seconds.
    max_duration_seconds: float = 600.0
