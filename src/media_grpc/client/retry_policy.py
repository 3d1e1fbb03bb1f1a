"""The channel's service config: which calls gRPC itself retries on UNAVAILABLE (and on a
server's CANCELLED), and how.

The same calls wait for the server (``waitForReady``): while no server answers (a restart, a
process that died and is being replaced), such a call waits, within its deadline, for one to
come back instead of failing at once, and so do its retries. Five attempts with at most 2 s
between them (gRPC caps ``maxAttempts`` at 5) span a second or two, shorter than a restart.
Waiting is safe for any call: an attempt waits only before it is sent. The calls left out still
fail at once when nothing answers.

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
#: CANCELLED too: a server process that stops cancels the calls still running on it when its
#: grace period ends (a fault test saw 4 such calls when the parent ``serve`` was SIGKILLed),
#: and these calls are safe to run twice whatever the first run did. A call the client itself
#: cancels is never retried.
RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
}

SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": SERVICE, "method": m} for m in IDEMPOTENT_METHODS],
            "retryPolicy": RETRY_POLICY,
            "waitForReady": True,
        }
    ]
}


#: Milliseconds between the channel's attempts to connect while no server answers: from
#: ``INITIAL_RECONNECT_MS`` growing to at most ``MAX_RECONNECT_MS``. gRPC's defaults (1 s growing
#: to 120 s) would leave a waiting call unaware, for many seconds, of a server that came back.
INITIAL_RECONNECT_MS = 250
MAX_RECONNECT_MS = 2000


def channel_options() -> list[tuple[str, object]]:
    """Options for ``grpc.insecure_channel`` / ``grpc.secure_channel``."""
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_MS),
    ]
