"""What is public after processing: only what the worker made, and none of it carries GPS.

The bucket gets the policy `storage init` writes (anonymous GET of variants/ and transcoded/
only); every GET here is anonymous, as anyone on the internet would send it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from media_grpc.bootstrap import Application
from media_grpc.domain.keys import frozen_original_key, output_prefix
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.storage_admin.policy import ensure_public_read_policy
from tests import media_factory as mf
from tests.integration.pipeline.conftest import (
    running_pipeline,
    upload,
    wait_for,
)

#: What the EXIF of the test photo carries; none of it may be served to anyone.
LEAKS = (b"Exif", b"MM\x00*", b"II*\x00", mf.CAMERA_MAKE.encode(), b"secret comment")


@pytest.fixture
def public_app(pipeline_app: Application) -> Iterator[Application]:
    ensure_public_read_policy(pipeline_app.s3_client, pipeline_app.settings.s3_bucket)
    yield pipeline_app


def anonymous_url(app: Application, key: str) -> str:
    return app.messages.url(key)


def ready_gps_photo(app: Application, owner: str, tmp_path: Path) -> Media:
    photo = mf.make_jpeg(tmp_path / "phone.jpg", (1600, 1200), exif_orientation=6, gps=True)
    with running_pipeline(app):
        media_id = upload(
            app, owner, photo.read_bytes(), purpose=Purpose.POST_IMAGE, content_type="image/jpeg"
        )
        return wait_for(app, media_id, {Status.READY})


def test_an_anonymous_get_of_an_originals_key_fails_while_variants_are_served(
    public_app: Application, unique_user: str, tmp_path: Path
) -> None:
    media = ready_gps_photo(public_app, unique_user, tmp_path)

    frozen = requests.get(
        anonymous_url(public_app, frozen_original_key(media.storage_key)), timeout=10
    )
    upload = requests.get(anonymous_url(public_app, media.storage_key), timeout=10)
    variants = [
        requests.get(public_app.messages.url(v.storage_key), timeout=10) for v in media.variants
    ]

    assert media.storage_key.startswith("uploads/")
    assert public_app.storage.head(frozen_original_key(media.storage_key)).size > 0
    assert frozen.status_code == 403
    assert upload.status_code in (403, 404)  # the job deleted the upload key when it froze it
    assert [v.status_code for v in variants] == [200] * len(media.variants)


def test_a_gps_photo_leaves_no_gps_in_anything_public(
    public_app: Application, unique_user: str, tmp_path: Path
) -> None:
    media = ready_gps_photo(public_app, unique_user, tmp_path)
    public = public_app.storage.list_keys(output_prefix(media.storage_key, video=False))

    full = next(v for v in media.variants if v.name == "full")
    assert (full.width, full.height) == (1200, 1600)  # full size, orientation applied
    assert {v.storage_key for v in media.variants} <= set(public)
    for key in public:
        served = requests.get(anonymous_url(public_app, key), timeout=10)
        assert served.status_code == 200, key
        assert [leak for leak in LEAKS if leak in served.content] == [], key
        with Image.open(io.BytesIO(served.content)) as image:
            assert len(image.getexif()) == 0, key
    assert not any(word in name.lower() for name in media.metadata for word in ("gps", "lat"))
