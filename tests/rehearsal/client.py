"""What the rehearsal's clients do: a channel spreading calls over the servers (gRPC client-side
round_robin over a static address list, retrying UNAVAILABLE), uploads and waits."""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings

T = TypeVar("T")
#: Codes a call is tried again for (on another server): the server went away or its
#: connection did. Each call that changes something carries an idempotency key.
RETRIED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
#: No retryPolicy: Client.call sends a failed call again itself, and counts it.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{"name": [{"service": "media.v1.MediaService"}], "timeout": "10s"}],
}


def spread_channel(targets: list[str]) -> grpc.Channel:
    """One channel over every server: ``ipv4:a:port,b:port`` with round_robin."""
    return grpc.insecure_channel(
        "ipv4:" + ",".join(targets),
        options=[
            ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ],
    )


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small JPEG of its own colour, made here."""
    colour = random.Random(seed).randrange(0, 0xFFFFFF)
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass
class Client:
    """Calls as one user through ``stub``."""

    stub: media_pb2_grpc.MediaServiceStub
    auth: AuthSettings
    user: str
    retries: int = 0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {issue_token(self.auth, self.user)}"),)

    def call(self, rpc: Callable[[], T], attempts: int = 20) -> T:
        """``rpc()``, again after a short pause while it fails with a code in RETRIED."""
        for attempt in range(attempts):
            try:
                return rpc()
            except grpc.RpcError as e:
                if e.code() not in RETRIED or attempt == attempts - 1:
                    raise
                self.retries += 1
                time.sleep(0.2)  # a client's pause before it sends again, not a test waiting
        raise AssertionError("unreachable")

    def create(self, data: bytes, key: str) -> pb.CreateUploadSessionResponse:
        request = pb.CreateUploadSessionRequest(
            purpose=pb.PURPOSE_POST_IMAGE,
            file_name=f"{key}.jpg",
            content_type="image/jpeg",
            size_bytes=len(data),
            idempotency_key=key,
        )
        answer: pb.CreateUploadSessionResponse = self.call(
            lambda: self.stub.CreateUploadSession(request, metadata=self.metadata())
        )
        return answer

    def put(self, session: pb.CreateUploadSessionResponse, data: bytes) -> None:
        put = session.single_put
        answer = requests.put(put.url, data=data, headers=dict(put.headers), timeout=30)
        answer.raise_for_status()

    def complete(self, media_id: str) -> pb.Media:
        request = pb.CompleteUploadRequest(media_id=media_id)
        answer: pb.CompleteUploadResponse = self.call(
            lambda: self.stub.CompleteUpload(request, metadata=self.metadata())
        )
        return answer.media

    def upload(self, data: bytes, key: str) -> tuple[pb.CreateUploadSessionResponse, pb.Media]:
        session = self.create(data, key)
        self.put(session, data)
        return session, self.complete(session.media_id)

    def get(self, media_id: str) -> pb.Media:
        request = pb.GetMediaRequest(media_id=media_id)
        answer: pb.GetMediaResponse = self.call(
            lambda: self.stub.GetMedia(request, metadata=self.metadata())
        )
        return answer.media
