"""`media-grpc serve` without a broker processes uploads itself (the in-process queue)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import grpc
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests.child_env import clean_env
from tests.e2e.conftest import (
    CLI,
    ServedProcess,
    embedded_env,
    start_serve,
    stop,
    upload_single,
)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 90, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_embedded_default_turns_an_upload_into_variants_without_rabbitmq(
    embedded_server: ServedProcess,
) -> None:
    token = embedded_server.cli("token", "--user", "newcomer").strip()
    metadata = [("authorization", f"Bearer {token}")]
    data = png()
    with grpc.insecure_channel(embedded_server.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        media_id = upload_single(stub, metadata, data)
        updates = [
            r.media
            for r in stub.WatchMedia(
                pb.WatchMediaRequest(media_id=media_id), metadata=metadata, timeout=60
            )
        ]

    assert updates[-1].status == pb.STATUS_READY
    assert updates[-1].variants
    for variant in updates[-1].variants:
        fetched = requests.get(variant.url, timeout=10)
        assert fetched.status_code == 200
        assert fetched.headers["Content-Type"] == variant.mime_type
        with Image.open(io.BytesIO(fetched.content)) as image:
            assert image.size == (variant.width, variant.height)


def test_worker_and_relay_without_a_broker_say_what_is_missing(tmp_path: Path) -> None:
    env = clean_env(MEDIA_DATA_DIR=str(tmp_path))
    for command in ("worker", "relay"):
        done = subprocess.run(
            [CLI, command], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2
        assert "MEDIA_BROKER_URL" in done.stderr


def jpeg_with_broken_exif() -> bytes:
    """A JPEG whose EXIF block is cut short: Pillow warns (UserWarning) while reading it."""
    exif = Image.Exif()
    exif[0x010F] = "Testcam" * 10
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 90, 40)).save(buffer, "JPEG", exif=exif.tobytes()[:-20])
    return buffer.getvalue()


def test_a_json_log_has_only_json_lines_even_when_pillow_warns(tmp_path: Path) -> None:
    served = start_serve(
        embedded_env(tmp_path), [CLI, "--log-format", "json", "serve"], log_apart=True
    )
    try:
        token = served.cli("token", "--user", "warned").strip()
        metadata = [("authorization", f"Bearer {token}")]
        data = jpeg_with_broken_exif()
        with grpc.insecure_channel(served.address) as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            media_id = upload_single(stub, metadata, data, "image/jpeg")
            updates = [
                r.media
                for r in stub.WatchMedia(
                    pb.WatchMediaRequest(media_id=media_id), metadata=metadata, timeout=60
                )
            ]
    finally:
        stop(served.process)
    log = served.process.stderr.read() if served.process.stderr else ""

    assert updates[-1].status == pb.STATUS_READY
    lines = log.splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    warned = [r for r in records if r["logger"] == "py.warnings"]
    assert warned and "Truncated File Read" in warned[0]["message"]
    assert warned[0]["media_id"] == media_id
