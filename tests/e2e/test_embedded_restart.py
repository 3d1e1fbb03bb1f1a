"""`make run` restarted: the embedded default keeps its objects under MEDIA_DATA_DIR, so earlier
media are still READY with their variants served; an object that cannot be restored fails its
media with the reason."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests import slow_stage_cli
from tests.e2e.conftest import ServedProcess, embedded_env, start_serve, stop, upload_single


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 160), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return embedded_env(tmp_path, MEDIA_METRICS_PORT="0", MEDIA_LIFECYCLE__INTERVAL_SECONDS="0")


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[list[ServedProcess]]:
    """Every `media-grpc serve` a test starts, stopped at the end."""
    started: list[ServedProcess] = []
    yield started
    for process in started:
        stop(process.process)


def upload(served: ServedProcess, metadata: list[tuple[str, str]]) -> str:
    data = png()
    with grpc.insecure_channel(served.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        media_id = upload_single(stub, metadata, data)
        return media_id


def final_state(served: ServedProcess, metadata: list[tuple[str, str]], media_id: str) -> pb.Media:
    with grpc.insecure_channel(served.address) as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        updates = list(
            stub.WatchMedia(pb.WatchMediaRequest(media_id=media_id), metadata=metadata, timeout=60)
        )
    return updates[-1].media


def test_media_made_before_a_restart_is_still_ready_with_its_variants_served(
    env: dict[str, str], served: list[ServedProcess]
) -> None:
    first = start_serve(env)
    served.append(first)
    token = first.cli("token", "--user", "restarter").strip()
    metadata = [("authorization", f"Bearer {token}")]
    media_id = upload(first, metadata)
    before = final_state(first, metadata, media_id)
    assert before.status == pb.STATUS_READY
    stop(first.process)

    second = start_serve(env)
    served.append(second)
    after = final_state(second, metadata, media_id)

    assert after.status == pb.STATUS_READY
    assert [v.url for v in after.variants] == [v.url for v in before.variants]
    for variant in after.variants:
        fetched = requests.get(variant.url, timeout=10)
        assert fetched.status_code == 200
        with Image.open(io.BytesIO(fetched.content)) as image:
            assert image.size == (variant.width, variant.height)


def test_an_object_that_cannot_be_restored_fails_its_media_with_the_reason(
    env: dict[str, str], served: list[ServedProcess]
) -> None:
    env[slow_stage_cli.DELAY_ENV] = "120"  # still processing at the stop
    first = start_serve(env, slow_stage_cli.command("serve"))
    served.append(first)
    token = first.cli("token", "--user", "unlucky").strip()
    metadata = [("authorization", f"Bearer {token}")]
    media_id = upload(first, metadata)
    first.process.kill()  # mid-job, as a crash or Ctrl-C twice would
    first.process.wait(10)
    for data in (Path(env["MEDIA_DATA_DIR"]) / "s3").glob("*/blobs/*"):  # object bodies
        data.write_bytes(b"damaged")

    del env[slow_stage_cli.DELAY_ENV]
    second = start_serve(env)
    served.append(second)
    media = final_state(second, metadata, media_id)

    assert media.status == pb.STATUS_FAILED
    assert "could not restore" in media.failure.message
