"""The thumbnail stage on tiny files made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_grpc.config.image import ImageSettings
from media_grpc.domain.model import FailureReason, Purpose
from media_grpc.domain.stage import MediaRejected, StageJob, StageOutcome
from tests import thumbnail_stage
from tests.unit.uploaded_media import png_bytes

JOB = StageJob("m-1", "alice", Purpose.POST_IMAGE, "image/png", "posts/alice/x.png")


def test_png_becomes_a_150_pixel_webp_thumbnail(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(png_bytes(600, 300))
    result = thumbnail_stage.run(JOB, source, tmp_path, ImageSettings())
    assert result.outcome is StageOutcome.SUCCESS
    assert (result.width, result.height) == (600, 300)
    [obj] = result.objects
    assert obj.key == "thumb.webp"
    assert obj.content_type == "image/webp"
    with Image.open(obj.path) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (150, 75)
    assert result.variants[0].storage_key == "thumb.webp"


def test_file_with_a_png_header_and_garbage_is_rejected_as_corrupt(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    with pytest.raises(MediaRejected) as raised:
        thumbnail_stage.run(JOB, source, tmp_path, ImageSettings())
    assert raised.value.reason is FailureReason.CORRUPT


def test_truncated_png_is_rejected_as_corrupt(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(png_bytes()[:120])
    with pytest.raises(MediaRejected) as raised:
        thumbnail_stage.run(JOB, source, tmp_path, ImageSettings())
    assert raised.value.reason is FailureReason.CORRUPT


def test_image_over_the_pixel_cap_is_rejected_before_decoding(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(png_bytes(100, 100))
    with pytest.raises(MediaRejected) as raised:
        thumbnail_stage.run(JOB, source, tmp_path, ImageSettings(max_pixels=9_999))
    assert raised.value.reason is FailureReason.TOO_MANY_PIXELS
