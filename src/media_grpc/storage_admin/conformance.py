"""`storage check`: what the configured storage actually enforces of a presigned request.

Each probe sends one request the storage should refuse (or reads one bucket setting) and returns a
``ProbeResult``. Everything is written under a scratch prefix, ``_media-grpc-check/{uuid}/``, and
removed afterwards, including multipart uploads and object versions.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from media_grpc.storage_admin import probes
from media_grpc.storage_admin.probing import Probe, ProbeResult, Scratch
from media_grpc.storage_admin.read_probes import read_probes

__all__ = ["Probe", "ProbeResult", "StorageCheckError", "run_conformance"]


class StorageCheckError(Exception):
    """The check could not run at all (unreachable endpoint, bad credentials, no bucket)."""


def run_conformance(
    client: Any, bucket: str, allowed_origins: list[str], disallowed_origin: str
) -> list[ProbeResult]:
    """Run every probe against ``bucket``; the scratch prefix is removed whatever happens."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchBucket", "NotFound"}:
            raise StorageCheckError(f"no bucket {bucket}: run `media-grpc storage init`") from None
        raise StorageCheckError(f"bucket {bucket}: {code}: check the credentials") from None
    except BotoCoreError as e:
        raise StorageCheckError(f"storage unreachable: {e}") from None
    scratch = Scratch(client, bucket)
    try:
        expiring = probes.sign_expiring_url(scratch)
        valid = probes.valid_put(scratch)
        results = [valid]
        if valid.enforced:
            results += probes.put_probes(scratch)
            time.sleep(max(0.0, expiring.try_at - time.monotonic()))
            results.append(probes.expired(scratch, expiring.url))
        else:
            results += probes.skipped_put_probes()
        results += probes.multipart_probes(scratch)
        results += probes.cors_probes(scratch, allowed_origins, disallowed_origin)
        results += probes.bucket_probes(scratch)
        results += read_probes(scratch)
        order = list(Probe)
        return sorted(results, key=lambda result: order.index(result.probe))
    except (ClientError, BotoCoreError, requests.RequestException) as e:
        raise StorageCheckError(f"storage check interrupted: {e}") from None
    finally:
        scratch.cleanup()
