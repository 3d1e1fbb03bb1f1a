"""Files that must fail, through the real pipeline: each ends FAILED with the right reason and
a message that names the input and the limit in force, never a path, host or exception."""

from __future__ import annotations

from pathlib import Path

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.domain.model import FailureReason, Media, Purpose, Status
from tests import media_factory as mf
from tests.integration.pipeline.conftest import (
    running_pipeline,
    upload,
    wait_for,
)
from tests.video_factory import make_truncated_clip

#: What no failure message may contain: temporary files, paths, URLs, exception names.
INTERNALS = ("media-job", "/tmp", "://", "Error:", "Traceback", "Errno")


def app_with(settings: Settings, **image: object) -> Application:
    return build_application(
        settings.model_copy(update={"image": settings.image.model_copy(update=image)}),
        migrate=False,
    )


def assert_readable(media: Media, reason: FailureReason) -> str:
    assert media.status is Status.FAILED
    assert media.failure is not None
    assert media.failure.reason is reason, media.failure
    message = media.failure.message
    assert message
    assert not [part for part in INTERNALS if part in message], message
    return message


def test_damaged_pngs_end_corrupt_and_too_large_images_state_the_limit_in_force(
    pipeline_settings: Settings, unique_user: str, tmp_path: Path
) -> None:
    app = app_with(pipeline_settings, max_pixels=50_000)
    damaged = [
        make(tmp_path / f"{make.__name__}.png", (200, 150)).read_bytes()
        for make in (
            mf.make_png_with_flipped_idat,
            mf.make_png_with_truncated_end_chunk,
            mf.make_png_with_broken_data_stream,
        )
    ]
    too_large = mf.make_png(tmp_path / "large.png", (300, 200)).read_bytes()  # 60,000 pixels
    try:
        with running_pipeline(app):
            damaged_ids = [upload(app, unique_user, data) for data in damaged]
            large_id = upload(app, unique_user, too_large)
            ended = [wait_for(app, i, {Status.FAILED, Status.READY}, 60) for i in damaged_ids]
            large = wait_for(app, large_id, {Status.FAILED, Status.READY}, 60)
    finally:
        app.close()
    for media in ended:
        assert "cannot decode image" in assert_readable(media, FailureReason.CORRUPT)
    message = assert_readable(large, FailureReason.TOO_MANY_PIXELS)
    assert message.endswith("than the limit of 50,000")


def test_a_truncated_mp4_ends_corrupt_with_a_message_about_the_file(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    data = make_truncated_clip(tmp_path / "cut.mp4").read_bytes()
    with running_pipeline(pipeline_app):
        media_id = upload(
            pipeline_app, unique_user, data, purpose=Purpose.POST_VIDEO, content_type="video/mp4"
        )
        failed = wait_for(pipeline_app, media_id, {Status.FAILED, Status.READY}, timeout=120)
    message = assert_readable(failed, FailureReason.CORRUPT)
    assert message.startswith("the file is cut short (")


def test_an_image_over_its_time_limit_is_stopped_and_fails_with_timeout(
    pipeline_settings: Settings, unique_user: str, tmp_path: Path
) -> None:
    app = app_with(pipeline_settings, job_time_limit_seconds=0.01)
    data = mf.make_png(tmp_path / "big.png", (3000, 2000)).read_bytes()
    try:
        with running_pipeline(app):
            media_id = upload(app, unique_user, data)
            failed = wait_for(app, media_id, {Status.FAILED, Status.READY}, timeout=60)
    finally:
        app.close()
    message = assert_readable(failed, FailureReason.TIMEOUT)
    assert message == "the job ran longer than 0.01 s and was stopped"
