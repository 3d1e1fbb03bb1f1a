"""The verified-hash backfill on PostgreSQL and the strict S3: a media processed before jobs
hashed originals (its verified sha256 set back to NULL) is hashed by `media-grpc dedupe
backfill` and then matches an upload of its bytes over a real channel; an original whose
object changed since completion is never hashed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from media.v1 import media_pb2_grpc
from sqlalchemy import text

from media_grpc.bootstrap import Application
from media_grpc.domain.keys import frozen_original_key
from media_grpc.service.hash_backfill import Outcome
from tests.child_env import settings_env
from tests.integration.pipeline.conftest import media_of, png_bytes
from tests.integration.pipeline.test_dedupe import ready
from tests.integration.uploading import create_session

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def hashed_before_dedupe(app: Application, media_id: str) -> None:
    """As a media READY before migration 0008: no verified sha256."""
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE media SET verified_sha256 = NULL WHERE id = :id"), {"id": media_id}
        )


def backfill(app: Application, *args: str) -> subprocess.CompletedProcess[str]:
    cli = str(Path(sys.executable).parent / "media-grpc")
    return subprocess.run(
        [cli, "dedupe", "backfill", *args],
        env=settings_env(app.settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_media_hashed_by_the_backfill_command_is_then_deduplicated_over_grpc(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data = png_bytes(83, 61)
    sha256 = hashlib.sha256(data).hexdigest()
    first = ready(pipeline_app, stub, auth, unique_user, data)
    hashed_before_dedupe(pipeline_app, first.id)
    assert not create_session(stub, auth, unique_user, data, sha256=sha256).deduplicated

    dry = backfill(pipeline_app, "--dry-run", "--owner", unique_user)
    real = backfill(pipeline_app, "--owner", unique_user)

    assert (dry.returncode, dry.stdout.split("\n")[:2]) == (
        0,
        ["would read (dry run): 1", "remaining: 1"],
    ), dry.stderr
    assert real.returncode == 0, real.stderr
    assert "hashed: 1" in real.stdout.splitlines()
    assert "remaining: 0" in real.stdout.splitlines()
    assert media_of(pipeline_app, first.id).verified_sha256 == sha256
    again = create_session(stub, auth, unique_user, data, sha256=sha256)
    assert again.deduplicated
    assert again.WhichOneof("upload") is None
    assert media_of(pipeline_app, again.media_id).source_key == first.storage_key


def test_an_original_whose_size_changed_since_completion_is_not_hashed(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    data, other = png_bytes(84, 62), png_bytes(160, 120)
    first = ready(pipeline_app, stub, auth, unique_user, data)
    hashed_before_dedupe(pipeline_app, first.id)
    pipeline_app.s3_client.put_object(
        Bucket=pipeline_app.settings.s3_bucket,
        Key=frozen_original_key(first.storage_key),
        Body=other,
    )

    report = pipeline_app.hash_backfill().run(owner_id=unique_user)

    assert {o: n for o, n in report.outcomes.items() if n} == {Outcome.CHANGED: 1}
    assert (report.bytes_read, report.remaining) == (0, 1)
    assert media_of(pipeline_app, first.id).verified_sha256 is None
    for sha256 in (hashlib.sha256(data).hexdigest(), hashlib.sha256(other).hexdigest()):
        assert not create_session(stub, auth, unique_user, data, sha256=sha256).deduplicated


def test_the_backfill_command_refuses_the_embedded_default_and_a_limit_below_one(
    pipeline_app: Application,
) -> None:
    cli = str(Path(sys.executable).parent / "media-grpc")
    env = settings_env(pipeline_app.settings)
    del env["MEDIA_S3_ENDPOINT_URL"]
    embedded = subprocess.run(
        [cli, "dedupe", "backfill"], env=env, capture_output=True, text=True, timeout=60
    )
    zero = backfill(pipeline_app, "--limit", "0")
    assert embedded.returncode == 2
    assert "set MEDIA_S3_ENDPOINT_URL" in embedded.stderr
    assert zero.returncode == 2
    assert "must be at least 1" in zero.stderr
