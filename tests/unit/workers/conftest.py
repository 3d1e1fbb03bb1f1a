"""Fixtures of the video stage tests: small settings so tiny clips still get several rungs."""

from __future__ import annotations

import pytest

from media_grpc.config.video import VideoSettings
from media_grpc.domain.model import Purpose
from media_grpc.domain.stage import StageJob
from tests.video_factory import SMALL_RUNGS


@pytest.fixture
def settings() -> VideoSettings:
    """1 s segments and small rungs; remuxing off unless a test turns it on."""
    return VideoSettings(
        rungs=SMALL_RUNGS, segment_seconds=1.0, x264_preset="ultrafast", remux_max_short_side=0
    )


@pytest.fixture
def job() -> StageJob:
    return StageJob(
        media_id="m-1",
        owner_id="u-1",
        purpose=Purpose.POST_VIDEO,
        mime_type="video/mp4",
        storage_key="originals/u-1/m-1",
    )
