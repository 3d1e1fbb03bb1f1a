"""Videos through the pipeline: their own queue, the video stage in a time-limited child."""

from __future__ import annotations

from pathlib import Path

from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.domain.keys import output_prefix
from media_grpc.domain.model import FailureReason, Purpose, Status
from tests.integration.pipeline.conftest import (
    assert_one_variant_set,
    running_pipeline,
    upload,
    wait_for,
)
from tests.video_factory import make_clip


def clip(tmp_path: Path) -> bytes:
    return make_clip(tmp_path / "clip.mp4", 320, 240, seconds=1.0).read_bytes()


def video_app(settings: Settings, **video: object) -> Application:
    return build_application(
        settings.model_copy(update={"video": settings.video.model_copy(update=video)}),
        migrate=False,
    )


def test_uploaded_video_reaches_ready_with_an_hls_playlist_and_a_poster(
    pipeline_app: Application, unique_user: str, tmp_path: Path
) -> None:
    with running_pipeline(pipeline_app):
        media_id = upload(
            pipeline_app,
            unique_user,
            clip(tmp_path),
            purpose=Purpose.POST_VIDEO,
            content_type="video/mp4",
        )
        ready = wait_for(pipeline_app, media_id, {Status.READY}, timeout=120)
    assert_one_variant_set(pipeline_app, ready)
    assert ready.hls_key is not None
    assert ready.hls_key.startswith(output_prefix(ready.storage_key, video=True))
    assert ready.hls_key in pipeline_app.storage.list_keys(ready.hls_key)
    assert 900 <= ready.duration_ms <= 1100
    assert (ready.width, ready.height) == (320, 240)


def test_video_over_its_time_limit_fails_at_once_with_timeout(
    pipeline_settings: Settings, unique_user: str, tmp_path: Path
) -> None:
    app = video_app(pipeline_settings, job_time_limit_seconds=0.05)
    # A VP9 clip is transcoded to the whole H.264 ladder: far longer than 0.05 s on any machine
    # (an H.264 clip this small is only remuxed, which can finish within the limit).
    webm = make_clip(tmp_path / "clip.webm", 640, 360, 3, codec="libvpx-vp9", container="webm")
    try:
        with running_pipeline(app):
            media_id = upload(
                app,
                unique_user,
                webm.read_bytes(),
                purpose=Purpose.POST_VIDEO,
                content_type="video/webm",
            )
            failed = wait_for(app, media_id, {Status.FAILED}, timeout=60)
    finally:
        app.close()
    assert failed.failure is not None
    assert failed.failure.reason is FailureReason.TIMEOUT
