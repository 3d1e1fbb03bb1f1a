"""`storage check` against the moto S3 server, which enforces nothing of a presigned PUT."""

from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from media_grpc.adapters.s3_storage import build_s3_client
from media_grpc.config import Settings
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.runtime.storage_check import check_storage_on_startup
from media_grpc.storage_admin.checks import check_storage
from media_grpc.storage_admin.conformance import Probe, StorageCheckError
from media_grpc.storage_admin.report import StorageReport
from media_grpc.storage_admin.setup import set_up_bucket

NOT_ENFORCED_BY_MOTO = [
    Probe.TAMPERED_SIGNATURE,
    Probe.EXPIRED,
    Probe.OTHER_KEY,
    Probe.CONTENT_TYPE,
    Probe.CONTENT_LENGTH,
    Probe.CHECKSUM_SHA256,
    Probe.CONTENT_MD5,
    Probe.VERSIONING,
    Probe.ABORT_RULE,
]
#: moto behind the front of tests/moto_s3.py refuses unsigned writes and
#: applies the bucket's CORS rules itself.
ENFORCED_BY_MOTO = [
    Probe.WRONG_ETAG,
    Probe.SMALL_PART,
    Probe.PART_AFTER_ABORT,
    Probe.UNSIGNED,
    Probe.CORS_DISALLOWED,
]


def storage_settings(s3_endpoint: str, bucket: str, **storage: Any) -> Settings:
    return Settings(
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id=EMBEDDED_ACCESS_KEY,
        s3_secret_access_key=EMBEDDED_SECRET_KEY,  # type: ignore[arg-type]
        s3_bucket=bucket,
        storage=storage,  # type: ignore[arg-type]
    )


def client_for(settings: Settings) -> Any:
    return build_s3_client(
        settings.s3_endpoint_url, "us-east-1", EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, "path"
    )


@pytest.fixture(scope="module")
def bare_bucket(s3_endpoint: str) -> tuple[Settings, Any]:
    """A bucket created without `storage init`: no CORS rule, no lifecycle rule."""
    settings = storage_settings(s3_endpoint, f"check-{uuid.uuid4().hex[:12]}")
    client = client_for(settings)
    client.create_bucket(Bucket=settings.s3_bucket)
    return settings, client


@pytest.fixture(scope="module")
def moto_report(bare_bucket: tuple[Settings, Any]) -> StorageReport:
    settings, client = bare_bucket
    return check_storage(client, settings)


def verdicts(report: StorageReport) -> dict[Probe, bool | None]:
    return {result.probe: result.enforced for result in report.results}


def test_storage_check_reports_each_put_protection_of_moto_as_not_enforced(
    moto_report: StorageReport,
) -> None:
    found = verdicts(moto_report)

    assert found[Probe.VALID_PUT] is True
    assert {probe: found[probe] for probe in NOT_ENFORCED_BY_MOTO} == dict.fromkeys(
        NOT_ENFORCED_BY_MOTO, False
    )
    assert {probe: found[probe] for probe in ENFORCED_BY_MOTO} == dict.fromkeys(
        ENFORCED_BY_MOTO, True
    )


def test_storage_check_report_prints_one_line_per_protection_and_what_is_compensated(
    moto_report: StorageReport,
) -> None:
    lines = moto_report.lines()

    assert any(line.startswith("  enforced      PUT without a signature: ") for line in lines)
    assert "  NOT enforced  PUT with a tampered signature: accepted (200)" in lines
    assert "  NOT enforced  PUT after the URL expired: accepted (200)" in lines
    assert "  NOT enforced  PUT to a different key than signed: accepted (200)" in lines
    assert "  NOT enforced  PUT with a Content-Type other than signed: accepted (200)" in lines
    assert "  NOT enforced  PUT with a Content-Length other than signed: accepted (200)" in lines
    assert "  NOT enforced  PUT with a wrong x-amz-checksum-sha256: accepted (200)" in lines
    assert "  NOT enforced  PUT with a wrong Content-MD5: accepted (200)" in lines
    assert "  enforced      multipart: wrong ETag at completion: rejected (InvalidPart)" in lines
    assert (
        "  enforced      multipart: non-last part under 5 MiB: rejected (EntityTooSmall)" in lines
    )
    assert any(
        line.startswith("  enforced      multipart: part uploaded after abort") for line in lines
    )
    assert "  off           versioning: never enabled" in lines
    assert any(
        line.startswith("  MISSING       AbortIncompleteMultipartUpload lifecycle rule")
        for line in lines
    )
    assert "the service compensates for:" in lines
    assert any(line.startswith("  - size: completion compares") for line in lines)
    assert lines[-1] == (
        "FAIL: missing protections the service relies on: "
        "PUT with a tampered signature, PUT after the URL expired, "
        "PUT to a different key than signed"
    )


def test_storage_check_fails_against_moto_unless_it_is_a_development_endpoint(
    moto_report: StorageReport,
) -> None:
    as_development = StorageReport(
        moto_report.endpoint, moto_report.bucket, moto_report.results, development=True
    )

    assert moto_report.exit_code == 1
    assert as_development.exit_code == 0
    assert as_development.lines()[-1].startswith("development endpoint, not failing")


def test_storage_check_leaves_nothing_behind(
    bare_bucket: tuple[Settings, Any], moto_report: StorageReport
) -> None:
    settings, client = bare_bucket

    assert client.list_objects_v2(Bucket=settings.s3_bucket).get("KeyCount") == 0
    assert not client.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads")


def test_storage_check_after_init_finds_the_cors_rule_and_the_abort_rule(
    s3_endpoint: str,
) -> None:
    settings = storage_settings(
        s3_endpoint, f"check-{uuid.uuid4().hex[:12]}", cors_allowed_origins=["https://app.example"]
    )
    client = client_for(settings)
    set_up_bucket(client, settings.s3_bucket, "us-east-1", settings.storage)

    found = verdicts(check_storage(client, settings))

    assert found[Probe.CORS_ALLOWED] is True
    assert found[Probe.CORS_DISALLOWED] is True
    assert found[Probe.ABORT_RULE] is True


def test_storage_check_refuses_to_run_without_the_bucket(s3_endpoint: str) -> None:
    settings = storage_settings(s3_endpoint, f"missing-{uuid.uuid4().hex[:12]}")

    with pytest.raises(StorageCheckError, match="storage init"):
        check_storage(client_for(settings), settings)


def test_start_up_check_logs_what_the_storage_does_not_enforce_as_a_warning(
    bare_bucket: tuple[Settings, Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings, client = bare_bucket
    app = SimpleNamespace(settings=settings, s3_client=client)

    with caplog.at_level(logging.WARNING, logger="media_grpc.storage"):
        thread = check_storage_on_startup(ProcessRuntime("test"), app)  # type: ignore[arg-type]
        assert thread is not None
        thread.join(timeout=60)

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "does not enforce: PUT with a tampered signature;" in warning.getMessage()
    assert "Missing protections the service relies on: PUT with a" in warning.getMessage()


def test_start_up_check_stays_off_for_the_embedded_default_and_when_disabled(
    s3_endpoint: str,
) -> None:
    embedded = SimpleNamespace(settings=Settings(), s3_client=None)
    disabled = SimpleNamespace(
        settings=storage_settings(s3_endpoint, "any", check_on_startup=False), s3_client=None
    )

    assert check_storage_on_startup(ProcessRuntime("test"), embedded) is None  # type: ignore[arg-type]
    assert check_storage_on_startup(ProcessRuntime("test"), disabled) is None  # type: ignore[arg-type]


def test_storage_check_on_a_versioned_bucket_removes_every_version_it_wrote(
    s3_endpoint: str,
) -> None:
    settings = storage_settings(s3_endpoint, f"check-{uuid.uuid4().hex[:12]}")
    client = client_for(settings)
    client.create_bucket(Bucket=settings.s3_bucket)
    client.put_bucket_versioning(
        Bucket=settings.s3_bucket, VersioningConfiguration={"Status": "Enabled"}
    )

    found = verdicts(check_storage(client, settings))

    assert found[Probe.VERSIONING] is True
    versions = client.list_object_versions(Bucket=settings.s3_bucket)
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")


def test_storage_check_after_init_finds_originals_private_derivatives_public_and_the_archive_rule(
    s3_endpoint: str,
) -> None:
    settings = storage_settings(s3_endpoint, f"check-{uuid.uuid4().hex[:12]}")
    client = client_for(settings)
    set_up_bucket(client, settings.s3_bucket, "us-east-1", settings.storage)

    report = check_storage(client, settings)

    found = verdicts(report)
    assert found[Probe.ORIGINAL_PRIVATE] is True
    assert found[Probe.DERIVATIVE_PUBLIC] is True
    assert found[Probe.ARCHIVE_RULE] is True
    assert (
        "  present       lifecycle rule archiving originals: originals/* to GLACIER after "
        "365 day(s)"
    ) in report.lines()
    assert client.list_objects_v2(Bucket=settings.s3_bucket).get("KeyCount") == 0


def test_storage_check_reports_anonymously_readable_originals_as_a_missing_protection(
    s3_endpoint: str,
) -> None:
    """A bucket of the old layout: everything public, as the embedded bucket once was."""
    settings = storage_settings(s3_endpoint, f"check-{uuid.uuid4().hex[:12]}")
    client = client_for(settings)
    client.create_bucket(Bucket=settings.s3_bucket)
    everything = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{settings.s3_bucket}/*",
    }
    client.put_bucket_policy(
        Bucket=settings.s3_bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [everything]}),
    )

    report = check_storage(client, settings)

    assert verdicts(report)[Probe.ORIGINAL_PRIVATE] is False
    assert any(r.probe is Probe.ORIGINAL_PRIVATE for r in report.missing)
    assert "anonymous GET of an original (uploads/, originals/)" in report.lines()[-1]
    as_development = StorageReport(report.endpoint, report.bucket, report.results, True)
    assert as_development.lines()[-1].startswith("development endpoint, not failing")
