"""A newcomer's first minutes: `media-grpc serve`, a token, a session, curl, complete, get."""

from __future__ import annotations

import subprocess

import grpc
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from tests.child_env import clean_env
from tests.e2e.conftest import CLI, ServedProcess
from tests.samples import image_bytes
from tests.upload_sessions import create_session

JPEG = image_bytes("JPEG", (64, 48))


def test_embedded_default_takes_an_upload_with_curl_and_serves_it_back(
    embedded_server: ServedProcess,
) -> None:
    token = embedded_server.cli("token", "--user", "newcomer").strip()
    metadata = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(embedded_server.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        session = create_session(stub, metadata, JPEG, content_type="image/jpeg", file_name="a.jpg")
        headers = [
            arg for k, v in session.single_put.headers.items() for arg in ("-H", f"{k}: {v}")
        ]
        curl = subprocess.run(
            [
                "curl",
                "-sS",
                "-f",
                "-X",
                "PUT",
                *headers,
                "--data-binary",
                "@-",
                session.single_put.url,
            ],
            input=JPEG,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert curl.returncode == 0, curl.stderr
        done = stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=session.media_id), metadata=metadata
        )
        [ready] = [
            answer.media
            for answer in stub.WatchMedia(
                pb.WatchMediaRequest(media_id=session.media_id), metadata=metadata, timeout=60
            )
            if answer.media.status in (pb.STATUS_READY, pb.STATUS_FAILED)
        ]

    assert done.media.status in (pb.STATUS_UPLOADED, pb.STATUS_PROCESSING, pb.STATUS_READY)
    assert ready.status == pb.STATUS_READY, ready.failure.message
    assert ready.variants
    # Only GetMedia hands the owner a (presigned) URL of the private original.
    with grpc.insecure_channel(embedded_server.address) as channel:
        got = media_pb2_grpc.MediaServiceStub(channel).GetMedia(
            pb.GetMediaRequest(media_id=ready.id), metadata=metadata
        )
    assert requests.get(got.media.original_url, timeout=10).content == JPEG


def test_serve_refuses_production_with_the_development_secret() -> None:
    env = clean_env(
        MEDIA_ENVIRONMENT="production",
        MEDIA_DATABASE_URL="sqlite:///unused.db",
        MEDIA_S3_ENDPOINT_URL="http://127.0.0.1:1",
        MEDIA_BROKER_URL="amqp://127.0.0.1:1",
    )
    done = subprocess.run(
        [CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "development JWT secret" in done.stderr


def test_serve_refuses_a_network_address_with_the_development_secret_in_development() -> None:
    env = clean_env(MEDIA_GRPC_LISTEN="0.0.0.0:0", MEDIA_METRICS_PORT="0")
    done = subprocess.run(
        [CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0:0" in done.stderr
    assert "public one" in done.stderr
