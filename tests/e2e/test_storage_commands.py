"""`media-grpc storage init|check` and the start-up warning, run as an operator runs them."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from tests.e2e.conftest import CLI, ServedProcess, free_port
from tests.moto_s3 import MotoS3


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = MotoS3(port=0)
    yield server.start()
    server.stop()


@pytest.fixture
def env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """MEDIA_* pointing at the moto server, a bucket of this test's own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    environment.update(
        MEDIA_S3_ENDPOINT_URL=moto_endpoint,
        MEDIA_S3_ACCESS_KEY_ID=EMBEDDED_ACCESS_KEY,
        MEDIA_S3_SECRET_ACCESS_KEY=EMBEDDED_SECRET_KEY,
        MEDIA_S3_BUCKET=f"e2e-{uuid.uuid4().hex[:12]}",
        MEDIA_STORAGE__CORS_ALLOWED_ORIGINS='["https://app.example"]',
        MEDIA_DATA_DIR=str(tmp_path / "data"),
    )
    return environment


def media_grpc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_storage_init_twice_is_clean(env: dict[str, str]) -> None:
    first = media_grpc(env, "storage", "init")
    second = media_grpc(env, "storage", "init")

    bucket = env["MEDIA_S3_BUCKET"]
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"bucket {bucket}: created in us-east-1",
        "CORS: browser PUT from https://app.example, exposing ETag, set",
        "lifecycle: abort incomplete multipart uploads after 1 day(s), set",
        "bucket policy: anonymous GET of variants/*, transcoded/* only, set",
        "lifecycle: archive originals/* to GLACIER after 365 day(s), set",
    ]
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        f"bucket {bucket}: exists, unchanged",
        "CORS: browser PUT from https://app.example, unchanged",
        "lifecycle: abort incomplete multipart uploads after 1 day(s), unchanged",
        "bucket policy: anonymous GET of variants/*, transcoded/* only, unchanged",
        "lifecycle: archive originals/* to GLACIER after 365 day(s), unchanged",
    ]


def test_storage_check_against_moto_exits_1_unless_marked_development(
    env: dict[str, str],
) -> None:
    assert media_grpc(env, "storage", "init").returncode == 0

    strict = media_grpc(env, "storage", "check")
    lax = media_grpc({**env, "MEDIA_STORAGE__DEVELOPMENT_ENDPOINT": "true"}, "storage", "check")

    assert strict.returncode == 1, strict.stdout + strict.stderr
    lines = strict.stdout.splitlines()
    assert "  NOT enforced  PUT with a tampered signature: accepted (200)" in lines
    assert "  enforced      multipart: wrong ETag at completion: rejected (InvalidPart)" in lines
    assert "  present       AbortIncompleteMultipartUpload lifecycle rule: after 1 day(s)" in lines
    assert any(line.startswith("  refused       anonymous GET of an original") for line in lines)
    assert (
        "  present       lifecycle rule archiving originals: originals/* to GLACIER after "
        "365 day(s)"
    ) in lines
    assert lines[-1].startswith("FAIL: missing protections the service relies on:")
    assert lax.returncode == 0, lax.stdout + lax.stderr
    assert lax.stdout.splitlines()[-1].startswith("development endpoint, not failing")


def test_storage_check_without_a_bucket_is_a_configuration_error(env: dict[str, str]) -> None:
    done = media_grpc(env, "storage", "check")

    assert done.returncode == 2
    assert "run `media-grpc storage init`" in done.stderr


def test_serve_against_a_non_enforcing_endpoint_logs_the_summary_as_a_warning(
    env: dict[str, str],
) -> None:
    assert media_grpc(env, "storage", "init").returncode == 0
    env = {**env, "MEDIA_GRPC_LISTEN": f"127.0.0.1:{free_port()}"}
    process = subprocess.Popen(
        [CLI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True
    ).start()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if "WARNING media_grpc.storage" in line:
                break
        else:
            pytest.fail("no storage warning within 60 s:\n" + "".join(seen))
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert any(line.startswith("media-grpc serving on") for line in seen)
    assert "does not enforce: PUT with a tampered signature;" in seen[-1]


def test_storage_check_of_the_embedded_default_reports_without_failing(
    embedded_server: ServedProcess,
) -> None:
    output = embedded_server.cli("storage", "check")

    lines = output.splitlines()
    assert "  NOT enforced  PUT with a tampered signature: accepted (200)" in lines
    assert lines[-1].startswith("development endpoint, not failing; missing protections:")
