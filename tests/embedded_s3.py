"""The embedded default's S3 endpoint (LocalS3) for tests: started on a free port, and boto3
clients with its fixed keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, LocalS3


def embedded_client(
    endpoint: str,
    *,
    secret: str = EMBEDDED_SECRET_KEY,
    signature_version: str = "s3v4",
    **config: Any,
) -> Any:
    """A boto3 client of ``endpoint`` with the embedded keys (another ``secret`` to be refused),
    signing with ``signature_version``; ``config`` as botocore's ``Config`` takes it."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=EMBEDDED_ACCESS_KEY,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(signature_version=signature_version, **config),
    )


@contextmanager
def running_local_s3(data_dir: Path | None = None) -> Iterator[LocalS3]:
    """A LocalS3 on a free port, keeping its data under ``data_dir`` (in memory without one);
    stopped on exit."""
    local = LocalS3(0, data_dir)
    local.start()
    try:
        yield local
    finally:
        local.stop()
