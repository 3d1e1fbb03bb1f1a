"""The channel's service config: which calls gRPC itself retries on UNAVAILABLE, and how.

A call is listed when running it twice is safe: reads, and the calls the server makes
idempotent (CompleteUpload by media id, DeleteMedia, AttachMedia with the same list,
ImportMedia by key, and CreateUploadSession, which this library always sends with an
idempotency key). RetryProcessing, AbortUpload and DetachMedia are left out: a second run after
a first that went through answers otherwise. Other clients can use the same JSON (see
docs/integration.md); list CreateUploadSession only if they send a key.
"""

from __future__ import annotations

import json

SERVICE = "media.v1.MediaService"

#: Methods gRPC may run again on UNAVAILABLE.
IDEMPOTENT_METHODS = (
    "CreateUploadSession",
    "GetUploadPartUrls",
    "ListUploadedParts",
    "CompleteUpload",
    "GetMedia",
    "BatchGetMedia",
    "ListMedia",
    "WatchMedia",
    "DeleteMedia",
    "GetProfileImage",
    "ValidateOwnership",
    "ValidateMedia",
    "AttachMedia",
    "ImportMedia",
    "ResolveLegacyUrl",
)

#: gRPC's retry policy (A6): up to 5 attempts, backoff drawn from 0.2 s growing to at most
#: 2 s, within the call's own deadline. WatchMedia is retried only until its first message.
RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}

SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": SERVICE, "method": m} for m in IDEMPOTENT_METHODS],
            "retryPolicy": RETRY_POLICY,
        }
    ]
}


def channel_options() -> list[tuple[str, object]]:
    """Options for ``grpc.insecure_channel`` / ``grpc.secure_channel``."""
    return [("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(SERVICE_CONFIG))]
