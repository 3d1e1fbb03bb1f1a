"""What the service makes of a storage check: relied on, compensated, exit code."""

from __future__ import annotations

from media_grpc.storage_admin.conformance import Probe, ProbeResult
from media_grpc.storage_admin.report import RELIED_ON, StorageReport


def report(not_enforced: set[Probe], development: bool = False) -> StorageReport:
    results = [
        ProbeResult(probe, probe.value, probe not in not_enforced, "detail") for probe in Probe
    ]
    return StorageReport("http://s3.example", "media", results, development)


def test_storage_that_enforces_everything_passes() -> None:
    everything = report(set())

    assert everything.exit_code == 0
    assert everything.lines()[-1] == "OK: every protection the service relies on is enforced"
    assert "the service compensates for:" not in everything.lines()


def test_storage_lacking_only_what_the_service_compensates_for_passes_and_says_how() -> None:
    lax = report({Probe.CONTENT_TYPE, Probe.CONTENT_LENGTH, Probe.CHECKSUM_SHA256})

    assert lax.exit_code == 0
    assert lax.missing == []
    assert [line[:10] for line in lax.compensated] == ["type: comp", "size: comp", "sha256: wh"]


def test_storage_lacking_a_relied_on_protection_fails() -> None:
    for probe in RELIED_ON:
        assert report({probe}).exit_code == 1, probe


def test_development_endpoint_reports_missing_protections_without_failing() -> None:
    lax = report({Probe.UNSIGNED, Probe.EXPIRED}, development=True)

    assert lax.exit_code == 0
    assert lax.lines()[-1] == (
        "development endpoint, not failing; missing protections: unsigned, expired"
    )


def test_probe_that_could_not_tell_is_neither_missing_nor_enforced() -> None:
    results = [ProbeResult(Probe.UNSIGNED, "PUT without a signature", None, "not tried")]
    unknown = StorageReport("http://s3.example", "media", results, development=False)

    assert unknown.exit_code == 0
    assert unknown.lines()[1] == "  unknown       PUT without a signature: not tried"


def test_summary_for_the_log_names_what_is_not_enforced_and_what_is_compensated() -> None:
    summary = report({Probe.UNSIGNED, Probe.CONTENT_LENGTH}).summary()

    assert summary.startswith(
        "storage at http://s3.example (bucket media) does not enforce: unsigned; content-length."
    )
    assert "The service compensates for: size:" in summary
    assert "Missing protections the service relies on: unsigned." in summary


def test_storage_refusing_a_valid_put_fails_even_as_a_development_endpoint() -> None:
    broken = report({Probe.VALID_PUT}, development=True)

    assert broken.exit_code == 1
    assert broken.lines()[-1] == "FAIL: a valid presigned PUT fails, so no upload can work"


def test_versioning_off_alone_needs_no_attention() -> None:
    assert not report({Probe.VERSIONING}).needs_attention
    assert report({Probe.VERSIONING, Probe.ABORT_RULE}).needs_attention
