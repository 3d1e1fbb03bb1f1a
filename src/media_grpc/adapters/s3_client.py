"""The boto3 client the S3 adapter uses, and the bucket every part of the adapter works with."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from media_grpc.adapters.sigv4_presigner import SigV4Presigner


def build_s3_client(
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    addressing_style: str,
) -> Any:
    """A client that presigns with SigV4 and retries throttling (standard retry mode)."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},  # type: ignore[arg-type,typeddict-item]
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=50,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


def presigner_for(client: Any, bucket: str) -> SigV4Presigner | None:
    """The fast presigner, or None (botocore presigns) for a client without credentials or
    not signing with SigV4."""
    signer = getattr(client, "_request_signer", None)
    if getattr(signer, "_credentials", None) is None:
        return None
    if client.meta.config.signature_version not in ("s3v4", "v4"):
        return None
    return SigV4Presigner(client, bucket)


class S3Bucket:
    """What each part of the S3 adapter works with: the client, the bucket, the presigner."""

    client: Any
    bucket: str
    presigner: SigV4Presigner | None
