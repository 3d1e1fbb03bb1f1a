"""`storage check` against the strict S3 (Ceph's RADOS Gateway, or MEDIA_TEST_S3_URL): what it
enforces of a presigned PUT, what `storage init` sets up, and one report line per check made."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from media_grpc.config import Settings
from media_grpc.runtime.process_runtime import ProcessRuntime
from media_grpc.runtime.storage_check import check_storage_on_startup
from media_grpc.storage_admin.checks import check_storage
from media_grpc.storage_admin.conformance import Probe, StorageCheckError
from media_grpc.storage_admin.report import StorageReport
from media_grpc.storage_admin.setup import set_up_bucket
from tests.s3_buckets import client_of, delete_bucket, scratch_bucket, unique_bucket
from tests.services import S3Service

#: What a strict S3 refuses of a presigned request (AWS S3 and Ceph's RADOS Gateway alike).
ENFORCED_BY_A_STRICT_S3 = [
    Probe.UNSIGNED,
    Probe.TAMPERED_SIGNATURE,
    Probe.EXPIRED,
    Probe.OTHER_KEY,
    Probe.CONTENT_TYPE,
    Probe.CONTENT_LENGTH,
    Probe.CONTENT_MD5,
    Probe.WRONG_ETAG,
    Probe.SMALL_PART,
    Probe.PART_AFTER_ABORT,
    Probe.CORS_DISALLOWED,
]
ORIGINS = ["https://app.example"]


def storage_settings(s3: S3Service, bucket: str, **storage: Any) -> Settings:
    return Settings(
        s3_endpoint_url=s3.url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,  # type: ignore[arg-type]
        s3_bucket=bucket,
        storage=storage,  # type: ignore[arg-type]
    )


@pytest.fixture
def initialised(s3: S3Service, s3_admin: Any) -> Iterator[Any]:
    """``initialised(**storage)``: settings of a bucket `storage init` made with ``storage``."""
    made: list[str] = []

    def init(**storage: Any) -> Settings:
        settings = storage_settings(s3, unique_bucket("check"), **storage)
        made.append(settings.s3_bucket)
        set_up_bucket(s3_admin, settings.s3_bucket, "us-east-1", settings.storage)
        return settings

    yield init
    for bucket in made:
        delete_bucket(s3_admin, bucket)


@pytest.fixture(scope="module")
def bare_bucket(s3: S3Service) -> Iterator[tuple[Settings, Any]]:
    """A bucket created without `storage init`: no CORS rule, no lifecycle rule."""
    client = client_of(s3)
    with scratch_bucket(client, "check") as bucket:
        yield storage_settings(s3, bucket), client


@pytest.fixture(scope="module")
def bare_report(bare_bucket: tuple[Settings, Any]) -> StorageReport:
    settings, client = bare_bucket
    return check_storage(client, settings)


def verdicts(report: StorageReport) -> dict[Probe, bool | None]:
    return {result.probe: result.enforced for result in report.results}


def test_storage_check_finds_every_put_and_multipart_protection_of_the_strict_s3_enforced(
    bare_report: StorageReport,
) -> None:
    found = verdicts(bare_report)

    assert found[Probe.VALID_PUT] is True
    assert {probe: found[probe] for probe in ENFORCED_BY_A_STRICT_S3} == dict.fromkeys(
        ENFORCED_BY_A_STRICT_S3, True
    )


def test_storage_check_reports_one_line_for_each_check_it_made(
    bare_report: StorageReport,
) -> None:
    lines = bare_report.lines()

    assert [result.probe for result in bare_report.results] == list(Probe)
    for result in bare_report.results:
        [line] = [
            line for line in lines if line.startswith(f"  {result.verdict:<14}{result.name}:")
        ]
        assert line.endswith(result.detail)
    assert (
        "  enforced      PUT with a tampered signature: rejected (403 SignatureDoesNotMatch)"
        in (lines)
    )
    assert "  enforced      PUT to a different key than signed: rejected (403 " in "\n".join(lines)
    assert "  enforced      multipart: wrong ETag at completion: rejected (InvalidPart)" in lines
    assert "  unknown       archive storage class exists: no archive rule to prove" in lines


def test_storage_check_of_a_bare_bucket_of_the_strict_s3_passes_and_names_what_init_adds(
    bare_report: StorageReport,
) -> None:
    found = verdicts(bare_report)

    assert bare_report.missing == []
    assert bare_report.exit_code == 0
    assert bare_report.lines()[-1] == "OK: every protection the service relies on is enforced"
    assert (found[Probe.ABORT_RULE], found[Probe.DERIVATIVE_PUBLIC]) == (False, False)
    assert found[Probe.ORIGINAL_PRIVATE] is True


def test_storage_check_leaves_nothing_behind(
    bare_bucket: tuple[Settings, Any], bare_report: StorageReport
) -> None:
    settings, client = bare_bucket

    assert client.list_objects_v2(Bucket=settings.s3_bucket).get("KeyCount") == 0
    assert not client.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads")


def test_storage_check_after_init_passes_on_the_strict_s3_without_an_archive_rule(
    initialised: Any, s3_admin: Any
) -> None:
    settings = initialised(cors_allowed_origins=ORIGINS, archive_after_days=0)

    report = check_storage(s3_admin, settings)

    found = verdicts(report)
    assert found[Probe.CORS_ALLOWED] is True
    assert found[Probe.CORS_DISALLOWED] is True
    assert found[Probe.ABORT_RULE] is True
    assert found[Probe.ORIGINAL_PRIVATE] is True
    assert found[Probe.DERIVATIVE_PUBLIC] is True
    assert found[Probe.ARCHIVE_RULE] is False
    assert report.exit_code == 0, "\n".join(report.lines())
    assert report.lines()[-1] == "OK: every protection the service relies on is enforced"


def test_storage_check_proves_the_archive_class_with_a_put_and_fails_when_storage_lacks_it(
    initialised: Any, s3_admin: Any
) -> None:
    """The strict S3 takes a lifecycle transition to GLACIER, a class it does not have, and
    would never move an original: only a PUT in that class shows it (InvalidArgument)."""
    settings = initialised(cors_allowed_origins=ORIGINS, archive_storage_class="GLACIER")
    rules = s3_admin.get_bucket_lifecycle_configuration(Bucket=settings.s3_bucket)["Rules"]
    assert any(t["StorageClass"] == "GLACIER" for r in rules for t in r.get("Transitions", []))

    report = check_storage(s3_admin, settings)

    found = verdicts(report)
    assert found[Probe.ARCHIVE_RULE] is True
    assert found[Probe.ARCHIVE_CLASS] is False
    [missing] = report.missing
    assert missing.probe is Probe.ARCHIVE_CLASS
    assert missing.detail.startswith("GLACIER: a PUT in it is refused (InvalidArgument)")
    assert report.exit_code == 1
    assert report.lines()[-1] == (
        "FAIL: missing protections the service relies on: archive storage class exists"
    )
    assert s3_admin.list_objects_v2(Bucket=settings.s3_bucket).get("KeyCount") == 0


def test_storage_check_takes_the_archive_class_as_proven_when_a_put_in_it_is_taken(
    initialised: Any, s3_admin: Any
) -> None:
    """STANDARD stands in for a configured archive class: every store has it."""
    settings = initialised(archive_storage_class="STANDARD")

    report = check_storage(s3_admin, settings)

    [result] = [r for r in report.results if r.probe is Probe.ARCHIVE_CLASS]
    assert (result.enforced, result.detail) == (True, "STANDARD: a PUT in it is taken")
    assert "  exists        archive storage class exists: STANDARD: a PUT in it is taken" in (
        report.lines()
    )


def test_storage_check_refuses_to_run_without_the_bucket(s3: S3Service, s3_admin: Any) -> None:
    settings = storage_settings(s3, unique_bucket("missing"))

    with pytest.raises(StorageCheckError, match="storage init"):
        check_storage(s3_admin, settings)


def test_start_up_check_logs_what_the_storage_lacks_as_a_warning(
    initialised: Any, s3_admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = initialised(archive_storage_class="GLACIER")
    app = SimpleNamespace(settings=settings, s3_client=s3_admin)

    with caplog.at_level(logging.WARNING, logger="media_grpc.storage"):
        thread = check_storage_on_startup(ProcessRuntime("test"), app)  # type: ignore[arg-type]
        assert thread is not None
        thread.join(timeout=60)

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "does not enforce: " in warning.getMessage()
    assert (
        "Missing protections the service relies on: archive storage class exists."
        in warning.getMessage()
    )


def test_start_up_check_stays_off_for_the_embedded_default_and_when_disabled(
    s3: S3Service,
) -> None:
    embedded = SimpleNamespace(settings=Settings(), s3_client=None)
    disabled = SimpleNamespace(
        settings=storage_settings(s3, "any", check_on_startup=False), s3_client=None
    )

    assert check_storage_on_startup(ProcessRuntime("test"), embedded) is None  # type: ignore[arg-type]
    assert check_storage_on_startup(ProcessRuntime("test"), disabled) is None  # type: ignore[arg-type]


def test_storage_check_on_a_versioned_bucket_removes_every_version_it_wrote(
    s3: S3Service, own_bucket: str, s3_admin: Any
) -> None:
    settings = storage_settings(s3, own_bucket)
    s3_admin.put_bucket_versioning(Bucket=own_bucket, VersioningConfiguration={"Status": "Enabled"})

    found = verdicts(check_storage(s3_admin, settings))

    assert found[Probe.VERSIONING] is True
    versions = s3_admin.list_object_versions(Bucket=own_bucket)
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")


def test_storage_check_after_init_finds_originals_private_derivatives_public_and_the_archive_rule(
    initialised: Any, s3_admin: Any
) -> None:
    settings = initialised()

    report = check_storage(s3_admin, settings)

    found = verdicts(report)
    assert found[Probe.ORIGINAL_PRIVATE] is True
    assert found[Probe.DERIVATIVE_PUBLIC] is True
    assert found[Probe.ARCHIVE_RULE] is True
    assert (
        "  present       lifecycle rule archiving originals: originals/* to GLACIER after "
        "365 day(s)"
    ) in report.lines()
    assert s3_admin.list_objects_v2(Bucket=settings.s3_bucket).get("KeyCount") == 0


def test_storage_check_reports_anonymously_readable_originals_as_a_missing_protection(
    s3: S3Service, own_bucket: str, s3_admin: Any
) -> None:
    """A bucket of the old layout: everything public, as the embedded bucket once was."""
    settings = storage_settings(s3, own_bucket)
    everything = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{own_bucket}/*",
    }
    s3_admin.put_bucket_policy(
        Bucket=own_bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [everything]}),
    )

    report = check_storage(s3_admin, settings)

    assert verdicts(report)[Probe.ORIGINAL_PRIVATE] is False
    assert any(r.probe is Probe.ORIGINAL_PRIVATE for r in report.missing)
    assert "anonymous GET of an original (uploads/, originals/)" in report.lines()[-1]
    as_development = StorageReport(report.endpoint, report.bucket, report.results, True)
    assert as_development.lines()[-1].startswith("development endpoint, not failing")
