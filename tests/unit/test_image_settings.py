"""ImageSettings: defaults from the issue, environment overrides, refused values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from media_grpc.config import Settings
from media_grpc.config.image import ImageSettings


def test_defaults_are_the_documented_ladder() -> None:
    settings = ImageSettings()

    assert settings.post_sizes == [150, 300, 600, 1200]
    assert settings.profile_sizes == [150, 300]
    assert settings.output_format == "webp"
    assert settings.jpeg_fallback_size == 1200
    assert settings.cache_control == "public, max-age=31536000, immutable"


def test_sizes_and_formats_are_read_from_media_image_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIA_IMAGE__POST_SIZES", "[200, 800]")
    monkeypatch.setenv("MEDIA_IMAGE__PROFILE_FORMATS", '["jpeg", "png"]')
    monkeypatch.setenv("MEDIA_IMAGE__MAX_PIXELS", "1000000")

    image = Settings().image

    assert image.post_sizes == [200, 800]
    assert image.profile_formats == ["JPEG", "PNG"]
    assert image.max_pixels == 1_000_000


@pytest.mark.parametrize(
    "bad",
    [
        {"post_formats": ["JPEG", "SVG"]},
        {"profile_formats": ["TIFF"]},
        {"post_sizes": []},
        {"profile_sizes": [0]},
        {"max_pixels": 0},
        {"webp_quality": 101},
    ],
)
def test_values_that_would_weaken_or_break_processing_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ImageSettings.model_validate(bad)
