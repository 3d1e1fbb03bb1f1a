"""`media-grpc storage init|check` and the start-up warning, run as an operator runs them."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, ServedProcess, free_port
from tests.s3_buckets import client_of, delete_bucket, unique_bucket
from tests.services import S3Service, strict_s3


@pytest.fixture(scope="module")
def s3() -> S3Service:
    return strict_s3()


@pytest.fixture
def env(s3: S3Service, tmp_path: Path) -> Iterator[dict[str, str]]:
    """MEDIA_* pointing at the strict S3, a bucket of this test's own (deleted afterwards)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    environment.update(
        MEDIA_S3_ENDPOINT_URL=s3.url,
        MEDIA_S3_ACCESS_KEY_ID=s3.access_key,
        MEDIA_S3_SECRET_ACCESS_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=unique_bucket("e2e"),
        MEDIA_STORAGE__CORS_ALLOWED_ORIGINS='["https://app.example"]',
        MEDIA_DATA_DIR=str(tmp_path / "data"),
    )
    yield environment
    delete_bucket(client_of(s3), environment["MEDIA_S3_BUCKET"])


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


def test_storage_check_against_the_strict_s3_reports_each_check_and_exits_0(
    env: dict[str, str],
) -> None:
    env = {**env, "MEDIA_STORAGE__ARCHIVE_AFTER_DAYS": "0"}
    assert media_grpc(env, "storage", "init").returncode == 0

    done = media_grpc(env, "storage", "check")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0]
        == f"storage check of bucket {env['MEDIA_S3_BUCKET']} at {env['MEDIA_S3_ENDPOINT_URL']}"
    )
    assert "  works         PUT with a valid presigned URL: accepted (200)" in lines
    assert (
        "  enforced      PUT with a tampered signature: rejected (403 SignatureDoesNotMatch)"
        in (lines)
    )
    assert any(
        line.startswith("  enforced      PUT after the URL expired: rejected (403")
        for line in lines
    )
    assert "  enforced      multipart: wrong ETag at completion: rejected (InvalidPart)" in lines
    assert "  present       AbortIncompleteMultipartUpload lifecycle rule: after 1 day(s)" in lines
    assert any(line.startswith("  refused       anonymous GET of an original") for line in lines)
    assert any(line.startswith("  served        anonymous GET of a derivative") for line in lines)
    assert lines[-1] == "OK: every protection the service relies on is enforced"


def test_storage_check_fails_on_an_archive_class_the_storage_lacks_unless_marked_development(
    env: dict[str, str],
) -> None:
    assert media_grpc(env, "storage", "init").returncode == 0  # archives to GLACIER

    strict = media_grpc(env, "storage", "check")
    lax = media_grpc({**env, "MEDIA_STORAGE__DEVELOPMENT_ENDPOINT": "true"}, "storage", "check")

    assert strict.returncode == 1, strict.stdout + strict.stderr
    lines = strict.stdout.splitlines()
    assert (
        "  present       lifecycle rule archiving originals: originals/* to GLACIER after "
        "365 day(s)"
    ) in lines
    assert any(
        line.startswith("  MISSING       archive storage class exists: GLACIER: a PUT in it is ")
        for line in lines
    )
    assert (
        lines[-1] == "FAIL: missing protections the service relies on: archive storage class exists"
    )
    assert lax.returncode == 0, lax.stdout + lax.stderr
    assert lax.stdout.splitlines()[-1].startswith("development endpoint, not failing")


def test_storage_check_without_a_bucket_is_a_configuration_error(env: dict[str, str]) -> None:
    done = media_grpc(env, "storage", "check")

    assert done.returncode == 2
    assert "run `media-grpc storage init`" in done.stderr


def test_serve_against_storage_without_the_archive_class_logs_the_summary_as_a_warning(
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
    assert "Missing protections the service relies on: archive storage class exists." in seen[-1]


def test_storage_check_of_the_embedded_default_finds_every_protection_enforced(
    embedded_server: ServedProcess,
) -> None:
    output = embedded_server.cli("storage", "check")

    lines = output.splitlines()
    assert (
        "  enforced      PUT with a tampered signature: rejected (403 SignatureDoesNotMatch)"
        in lines
    )
    assert "  enforced      PUT after the URL expired: rejected (403 AccessDenied)" in lines
    assert (
        "  refused       anonymous GET of an original (uploads/, originals/): uploads/: 403, "
        "originals/: 403"
    ) in lines
    assert lines[-1] == "OK: every protection the service relies on is enforced"
