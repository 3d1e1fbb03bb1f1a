"""The embedded S3's signature check against requests signed by botocore, at fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from media_grpc.embedded.sigv4_check import SignatureRefused, SigV4Checker

SIGNED_AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY, SECRET = "embedded", "embedded-secret"


def checker(now: datetime) -> SigV4Checker:
    return SigV4Checker(KEY, SECRET, clock=lambda: now)


def presigned(
    url: str, expires: int = 600, headers: dict[str, str] | None = None, secret: str = SECRET
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """(raw path, query pairs, lower-case headers) of a URL presigned by botocore at SIGNED_AT."""
    request = AWSRequest(method="PUT", url=url, headers=headers or {})
    auth = S3SigV4QueryAuth(Credentials(KEY, secret), "s3", "us-east-1", expires=expires)
    request.context["timestamp"] = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    signed = urlsplit(f"{request.url}&X-Amz-Signature={signature}")
    sent = {"host": signed.netloc, **{k.lower(): v for k, v in (headers or {}).items()}}
    return signed.path, parse_qsl(signed.query, keep_blank_values=True), sent


def header_signed(
    url: str, body: bytes, headers: dict[str, str]
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    request = AWSRequest(method="PUT", url=url, headers=headers, data=body)
    auth = S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1")
    amz_date = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
    request.context["timestamp"] = amz_date
    request.headers["X-Amz-Date"] = amz_date
    request.headers["X-Amz-Content-SHA256"] = auth.payload(request)
    request.headers["Host"] = urlsplit(url).netloc
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    names = auth.signed_headers(auth.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={KEY}/{amz_date[:8]}/us-east-1/s3/aws4_request, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    split = urlsplit(url)
    sent = {k.lower(): str(v) for k, v in request.headers.items()}
    return split.path, parse_qsl(split.query, keep_blank_values=True), sent


URL = "http://127.0.0.1:9000/media/uploads/a%20b.png?partNumber=1&uploadId=xyz"


def test_a_presigned_url_is_accepted_until_it_expires() -> None:
    path, query, headers = presigned(URL, expires=600, headers={"Content-Type": "image/png"})
    within = checker(SIGNED_AT + timedelta(seconds=599)).check("PUT", path, query, headers)
    assert within.payload_sha256 is None
    with pytest.raises(SignatureRefused, match="expired") as refused:
        checker(SIGNED_AT + timedelta(seconds=601)).check("PUT", path, query, headers)
    assert (refused.value.status, refused.value.code) == (403, "AccessDenied")


def test_a_presigned_url_refuses_a_changed_header_query_method_or_secret() -> None:
    path, query, headers = presigned(URL, headers={"Content-Type": "image/png"})
    now = checker(SIGNED_AT)
    changes = [
        ("PUT", path, query, {**headers, "content-type": "text/html"}),
        ("PUT", path, [(k, "2" if k == "partNumber" else v) for k, v in query], headers),
        ("DELETE", path, query, headers),
        ("PUT", path.replace("a%20b", "c"), query, headers),
    ]
    for method, changed_path, changed_query, changed_headers in changes:
        with pytest.raises(SignatureRefused) as refused:
            now.check(method, changed_path, changed_query, changed_headers)
        assert (refused.value.status, refused.value.code) == (403, "SignatureDoesNotMatch")
    guessed = presigned(URL, secret="guessed")
    with pytest.raises(SignatureRefused, match="does not match"):
        now.check("PUT", *guessed)


def test_a_presigned_url_of_more_than_seven_days_is_refused() -> None:
    path, query, headers = presigned(URL, expires=7 * 24 * 3600 + 1)
    with pytest.raises(SignatureRefused) as refused:
        checker(SIGNED_AT).check("PUT", path, query, headers)
    assert (refused.value.status, refused.value.code) == (400, "AuthorizationQueryParametersError")


def test_a_header_signed_request_is_accepted_within_the_clock_skew_only() -> None:
    path, query, headers = header_signed(URL, b"body", {"Content-Type": "image/png"})
    signed = checker(SIGNED_AT + timedelta(minutes=14)).check("PUT", path, query, headers)
    assert (
        signed.payload_sha256 == "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5"
    )
    with pytest.raises(SignatureRefused) as refused:
        checker(SIGNED_AT - timedelta(minutes=16)).check("PUT", path, query, headers)
    assert (refused.value.status, refused.value.code) == (403, "RequestTimeTooSkewed")


def test_a_header_signed_request_refuses_a_changed_signed_header() -> None:
    path, query, headers = header_signed(URL, b"body", {"Content-Type": "image/png"})
    with pytest.raises(SignatureRefused) as refused:
        checker(SIGNED_AT).check("PUT", path, query, {**headers, "content-type": "text/html"})
    assert refused.value.code == "SignatureDoesNotMatch"
