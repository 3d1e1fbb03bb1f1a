"""The URL surgery of `storage check`: only the intended part of a presigned URL changes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from media_grpc.storage_admin.probing import (
    Probe,
    ProbeResult,
    unsigned_url,
    with_other_key,
    with_tampered_signature,
)

URL = (
    "https://s3.example/media/_media-grpc-check/abc/signed?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Expires=300&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"
    "&X-Amz-Signature=0f1e2d"
)


def test_unsigned_url_drops_the_whole_query() -> None:
    assert unsigned_url(URL) == "https://s3.example/media/_media-grpc-check/abc/signed"


def test_tampered_signature_changes_only_the_signature() -> None:
    tampered = with_tampered_signature(URL)

    before, after = parse_qs(urlsplit(URL).query), parse_qs(urlsplit(tampered).query)
    assert after["X-Amz-Signature"] != before["X-Amz-Signature"]
    assert len(after["X-Amz-Signature"][0]) == len(before["X-Amz-Signature"][0])
    assert {k: v for k, v in after.items() if k != "X-Amz-Signature"} == {
        k: v for k, v in before.items() if k != "X-Amz-Signature"
    }
    assert urlsplit(tampered).path == urlsplit(URL).path


def test_other_key_keeps_the_signed_query_on_a_sibling_key() -> None:
    moved = with_other_key(URL, "other-key")

    assert urlsplit(moved).path == "/media/_media-grpc-check/abc/other-key"
    assert urlsplit(moved).query == urlsplit(URL).query


def test_probe_verdict_uses_its_labels_and_says_unknown_when_it_could_not_tell() -> None:
    assert ProbeResult(Probe.UNSIGNED, "x", True, "").verdict == "enforced"
    assert ProbeResult(Probe.UNSIGNED, "x", False, "").verdict == "NOT enforced"
    assert ProbeResult(Probe.VERSIONING, "x", True, "", ("on", "off")).verdict == "on"
    assert ProbeResult(Probe.UNSIGNED, "x", None, "").verdict == "unknown"
