"""`make demo`'s choice of storage (examples/demo.py): the embedded S3 unless MEDIA_S3_ENDPOINT_URL
is set; then the service's own S3 settings are passed on, and nothing else of MEDIA_*."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from demo import Demo, external_s3_settings


def test_without_an_endpoint_the_demo_uses_the_embedded_s3() -> None:
    s3_env = external_s3_settings({"MEDIA_S3_BUCKET": "demo", "MEDIA_S3_ACCESS_KEY_ID": "k"})

    demo = Demo(Path("data"), s3_port=9123, s3_env=s3_env)
    assert s3_env == {}
    assert demo.embeds_s3
    assert demo.s3_url == "http://127.0.0.1:9123"


def test_with_an_endpoint_the_demo_passes_on_the_s3_settings_only() -> None:
    s3_env = external_s3_settings(
        {
            "MEDIA_S3_ENDPOINT_URL": "http://rgw:7480/",
            "MEDIA_S3_BUCKET": "demo",
            "MEDIA_S3_ACCESS_KEY_ID": "key",
            "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
            "MEDIA_S3_REGION": "",
            "MEDIA_STORAGE__ARCHIVE_AFTER_DAYS": "0",
            "MEDIA_DATABASE_URL": "postgresql+psycopg://elsewhere/db",
        }
    )

    demo = Demo(Path("data"), s3_env=s3_env)
    assert s3_env == {
        "MEDIA_S3_ENDPOINT_URL": "http://rgw:7480/",
        "MEDIA_S3_BUCKET": "demo",
        "MEDIA_S3_ACCESS_KEY_ID": "key",
        "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
        "MEDIA_STORAGE__ARCHIVE_AFTER_DAYS": "0",
    }
    assert not demo.embeds_s3
    assert demo.s3_url == "http://rgw:7480"
