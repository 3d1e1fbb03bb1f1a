"""`media-grpc upload` as a user runs it: a 30 MiB image in parts with a progress bar, killed
half-way, run again (only the missing parts go), and followed to READY; the server stores on the
strict S3."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import grpc
import requests
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from PIL import Image

from tests.e2e.conftest import CLI, ServedProcess
from tests.waiting import eventually

MiB = 1024 * 1024


def noisy_png(path: Path) -> Path:
    """A real PNG of random pixels: incompressible, so about 30 MiB on disk."""
    width, height = 3400, 3100
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        path, compress_level=1
    )
    assert path.stat().st_size >= 30 * MiB
    return path


def sent_parts(stderr: str) -> set[int]:
    return {int(n) for n in re.findall(r"part (\d+)/\d+ sent", stderr)}


def test_upload_killed_half_way_resumes_with_only_the_missing_parts_and_ends_ready(
    strict_s3_server: ServedProcess, tmp_path: Path
) -> None:
    image = noisy_png(tmp_path / "big.png")
    state = tmp_path / "big.png.upload-state.json"
    token = strict_s3_server.cli("token", "--user", "resumer").strip()
    env = {**strict_s3_server.env, "MEDIA_TOKEN": token, "MEDIA_ADDRESS": strict_s3_server.address}
    # Its log lines and bar on stderr although stderr is a pipe here, not a terminal.
    command = [CLI, "--log-level", "INFO", "upload", str(image), "--purpose", "post_image"]
    command += ["--parallel", "2"]

    first = subprocess.Popen(
        [*command, "--limit-rate", str(8 * MiB), "--progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def two_parts_done() -> bool:
        assert first.poll() is None, first.communicate()
        return state.exists() and len(json.loads(state.read_text())["parts"]) >= 2

    eventually(two_parts_done, "two parts sent", 60)
    first.send_signal(signal.SIGKILL)
    _, first_err = first.communicate(timeout=10)
    saved = json.loads(state.read_text())
    part_count = saved["part_count"]
    assert part_count >= 4
    assert "%|" in first_err  # the progress bar was drawn on stderr

    with grpc.insecure_channel(strict_s3_server.address) as channel:
        listed = media_pb2_grpc.MediaServiceStub(channel).ListUploadedParts(
            pb.ListUploadedPartsRequest(media_id=saved["media_id"]),
            metadata=[("authorization", f"Bearer {token}")],
        )
    size, part_size = saved["size_bytes"], saved["part_size"]
    held = {
        p.part_number
        for p in listed.parts
        if p.size_bytes == min(part_size, size - (p.part_number - 1) * part_size)
    }
    assert 2 <= len(held) < part_count

    second = subprocess.run(
        [*command, "--json", "--timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert second.returncode == 0, second.stderr
    resent = sent_parts(second.stderr)
    print(f"parts: {part_count}, held after the kill: {sorted(held)}, resent: {sorted(resent)}")
    assert resent == set(range(1, part_count + 1)) - held
    media = json.loads(second.stdout)
    assert media["id"] == saved["media_id"]
    assert media["status"] == "STATUS_READY"
    assert int(media["size_bytes"]) == image.stat().st_size
    assert not state.exists()

    metrics_url = f"http://127.0.0.1:{strict_s3_server.env['MEDIA_METRICS_PORT']}/metrics"
    exposed = requests.get(metrics_url, timeout=5).text
    for line in (
        'media_upload_sessions_created_total{mode="multipart",purpose="POST_IMAGE"} 1.0',
        'media_uploads_completed_total{purpose="POST_IMAGE"} 1.0',
        'media_jobs_published_total{kind="image"} 1.0',
        'media_jobs_consumed_total{kind="image",result="success"} 1.0',
        'media_rpc_requests_total{code="OK",method="ListUploadedParts"}',
    ):
        assert line in exposed, line

    # The same file again: the sha256 is declared (computed in the read that sniffs the type),
    # the owner has it READY, so one CreateUploadSession answers a new READY media, no byte sent.
    third = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert third.returncode == 0, third.stderr
    again = json.loads(third.stdout)
    assert again["id"] != media["id"]
    assert again["status"] == "STATUS_READY"
    assert sent_parts(third.stderr) == set()
    assert "nothing sent" in third.stderr
    exposed = requests.get(metrics_url, timeout=5).text
    for line in (
        'media_upload_sessions_created_total{mode="deduplicated",purpose="POST_IMAGE"} 1.0',
        'media_uploads_completed_total{purpose="POST_IMAGE"} 1.0',
        'media_jobs_published_total{kind="image"} 1.0',
    ):
        assert line in exposed, line
