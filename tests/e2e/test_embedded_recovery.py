"""`media-grpc serve` without a broker, killed mid-job: the next start queues the job again.

Storage is the strict S3 (a bucket of the test's own, tests/e2e/conftest.py ``on_strict_s3``):
it outlives the killed server, as the embedded S3 (which dies with its process) would not."""

from __future__ import annotations

import io
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests import slow_stage_cli, upload_sessions
from tests.child_env import clean_env
from tests.e2e.conftest import ServedProcess, free_port, on_strict_s3, start_serve, stop
from tests.waiting import eventually


def upload(served: ServedProcess, stub: media_pb2_grpc.MediaServiceStub) -> tuple[str, list]:
    token = served.cli("token", "--user", "crashy").strip()
    metadata = [("authorization", f"Bearer {token}")]
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 20, 30)).save(buffer, "PNG")
    return upload_sessions.upload(stub, metadata, buffer.getvalue(), file_name="a.png"), metadata


def test_media_processing_when_the_embedded_server_died_is_finished_after_a_restart(
    tmp_path: Path,
) -> None:
    env = clean_env(
        MEDIA_DATA_DIR=str(tmp_path / "data"),
        MEDIA_GRPC_LISTEN=f"127.0.0.1:{free_port()}",
        MEDIA_METRICS_PORT="0",
        MEDIA_LIFECYCLE__INTERVAL_SECONDS="0",
        TEST_STAGE_DELAY_SECONDS="120",
    )
    with on_strict_s3(env) as stored_on_strict_s3:
        restarted_after_a_kill(stored_on_strict_s3)


def restarted_after_a_kill(env: dict[str, str]) -> None:
    """An upload whose job a server is running when it is SIGKILLed; a second server on ``env``
    (a new port) must finish it: READY, with variants."""
    first = start_serve(env, slow_stage_cli.command("serve"))
    try:
        with grpc.insecure_channel(first.address) as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            media_id, metadata = upload(first, stub)
            request = pb.GetMediaRequest(media_id=media_id)
            eventually(
                lambda: (
                    stub.GetMedia(request, metadata=metadata).media.status == pb.STATUS_PROCESSING
                ),
                "the job to start",
                30,
            )
        first.process.kill()  # the in-process queue and its job die with it
        first.process.wait(10)
    finally:
        stop(first.process)

    del env["TEST_STAGE_DELAY_SECONDS"]
    # A port of its own: nothing of the killed server's listener can answer for it.
    env["MEDIA_GRPC_LISTEN"] = f"127.0.0.1:{free_port()}"
    second = start_serve(env)
    try:
        with grpc.insecure_channel(second.address) as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            updates = [
                r.media
                for r in stub.WatchMedia(
                    pb.WatchMediaRequest(media_id=media_id), metadata=metadata, timeout=60
                )
            ]
    except grpc.RpcError as e:
        stop(second.process)
        output = second.process.stdout.read() if second.process.stdout else ""
        pytest.fail(f"the restarted server failed the watch ({e}); its output:\n{output}")
    finally:
        stop(second.process)

    assert updates[-1].status == pb.STATUS_READY
    assert updates[-1].variants
