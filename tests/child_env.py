"""The environment of a media-grpc process a test starts: this process's own, without any
MEDIA_ variable (so no setting of the machine leaks in), then the test's settings."""

from __future__ import annotations

import os

from media_grpc.config import Settings


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any MEDIA_ variable, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    env.update(settings)
    return env


def settings_env(settings: Settings, **more: str) -> dict[str, str]:
    """``clean_env`` with the database and the S3 store (endpoint, keys, bucket) of
    ``settings``, then ``more``."""
    secret = settings.s3_secret_access_key
    env = clean_env(
        MEDIA_DATABASE_URL=str(settings.database_url),
        MEDIA_S3_ENDPOINT_URL=str(settings.s3_endpoint_url),
        MEDIA_S3_ACCESS_KEY_ID=str(settings.s3_access_key_id),
        MEDIA_S3_SECRET_ACCESS_KEY=secret.get_secret_value() if secret else "",
        MEDIA_S3_BUCKET=settings.s3_bucket,
    )
    env.update(more)
    return env
