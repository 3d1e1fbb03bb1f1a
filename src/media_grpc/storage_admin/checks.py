"""The storage check that `media-grpc storage check` prints and `serve` runs at start-up
(``runtime/storage_check.py``)."""

from __future__ import annotations

from typing import Any

from media_grpc.config import Settings
from media_grpc.storage_admin.conformance import run_conformance
from media_grpc.storage_admin.report import StorageReport

#: An origin ``storage check`` expects the bucket's CORS rules to refuse.
DISALLOWED_ORIGIN = "https://storage-check.invalid"


def is_development_endpoint(settings: Settings) -> bool:
    return settings.embeds_s3 or settings.storage.development_endpoint


def check_storage(client: Any, settings: Settings) -> StorageReport:
    """Run every probe against the configured bucket. Raises StorageCheckError."""
    results = run_conformance(
        client, settings.s3_bucket, settings.storage.cors_allowed_origins, DISALLOWED_ORIGIN
    )
    return StorageReport(
        endpoint=str(client.meta.endpoint_url),
        bucket=settings.s3_bucket,
        results=results,
        development=is_development_endpoint(settings),
    )
