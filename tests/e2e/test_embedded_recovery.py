"""`media-grpc serve` without a broker, killed mid-job: the next start queues the job again."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from tests import slow_stage_cli, upload_sessions
from tests.e2e.conftest import ServedProcess, clean_env, free_port, start_serve, stop
from tests.embedded_s3 import embedded_client, running_local_s3
from tests.waiting import eventually


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """An S3 endpoint that outlives the servers (the embedded one dies with its process)."""
    with running_local_s3() as local:
        embedded_client(local.endpoint_url).create_bucket(Bucket="media")
        yield local.endpoint_url


def upload(served: ServedProcess, stub: media_pb2_grpc.MediaServiceStub) -> tuple[str, list]:
    token = served.cli("token", "--user", "crashy").strip()
    metadata = [("authorization", f"Bearer {token}")]
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 20, 30)).save(buffer, "PNG")
    return upload_sessions.upload(stub, metadata, buffer.getvalue(), file_name="a.png"), metadata


def test_media_processing_when_the_embedded_server_died_is_finished_after_a_restart(
    tmp_path: Path, s3_endpoint: str
) -> None:
    env = clean_env(
        MEDIA_DATA_DIR=str(tmp_path / "data"),
        MEDIA_GRPC_LISTEN=f"127.0.0.1:{free_port()}",
        MEDIA_METRICS_PORT="0",
        MEDIA_S3_ENDPOINT_URL=s3_endpoint,
        MEDIA_S3_ACCESS_KEY_ID=EMBEDDED_ACCESS_KEY,
        MEDIA_S3_SECRET_ACCESS_KEY=EMBEDDED_SECRET_KEY,
        MEDIA_STORAGE__CHECK_ON_STARTUP="false",
        MEDIA_LIFECYCLE__INTERVAL_SECONDS="0",
        TEST_STAGE_DELAY_SECONDS="120",
    )
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
