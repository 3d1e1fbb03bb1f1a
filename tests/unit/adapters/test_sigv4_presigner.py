"""The fast presigner signs exactly what botocore signs, for the same request and second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from media_grpc.adapters.s3_storage import S3BlobStorage, build_s3_client
from media_grpc.adapters.sigv4_presigner import SigV4Presigner

KEYS = ("posts/u/2026/01/01/a.png", "posts/u 1/ü ~+&=?.png")


def client(style: str = "path", endpoint: str = "http://127.0.0.1:9000", **extra: Any) -> Any:
    if extra:
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": style}),  # type: ignore[typeddict-item]
            **extra,
        )
    return build_s3_client(endpoint, "eu-west-1", "AKID", "SECRET", style)


def botocore_url(s3: Any, operation: str, params: dict[str, Any]) -> str:
    url: str = s3.generate_presigned_url(operation, Params=params, ExpiresIn=900, HttpMethod="PUT")
    return url


def same(ours: str, theirs: str) -> None:
    a, b = urlsplit(ours), urlsplit(theirs)
    assert (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)
    assert parse_qs(a.query) == parse_qs(b.query)


def at_their_second(s3: Any, theirs: str) -> SigV4Presigner:
    stamp = parse_qs(urlsplit(theirs).query)["X-Amz-Date"][0]
    when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return SigV4Presigner(s3, "media", clock=lambda: when)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    ("style", "endpoint"),
    [("path", "http://127.0.0.1:9000"), ("virtual", "https://s3.example.com")],
)
def test_a_put_url_matches_botocore(key: str, style: str, endpoint: str) -> None:
    s3 = client(style, endpoint)
    params = {"Bucket": "media", "Key": key, "ContentType": "image/png", "ContentLength": 256}
    theirs = botocore_url(s3, "put_object", {**params, "ChecksumSHA256": "q83vEjRWeJA="})
    headers = {
        "Content-Type": "image/png",
        "Content-Length": "256",
        "x-amz-checksum-sha256": "q83vEjRWeJA=",
    }
    ours = at_their_second(s3, theirs).presign("PUT", key, expires_in=900, headers=headers)
    same(ours, theirs)


def test_a_part_url_matches_botocore() -> None:
    s3 = client()
    params = {
        "Bucket": "media",
        "Key": KEYS[0],
        "UploadId": "up/id+1",
        "PartNumber": 3,
        "ContentLength": 5_000_000,
    }
    theirs = botocore_url(s3, "upload_part", params)
    ours = at_their_second(s3, theirs).presign(
        "PUT",
        KEYS[0],
        expires_in=900,
        headers={"Content-Length": "5000000"},
        query={"partNumber": "3", "uploadId": "up/id+1"},
    )
    same(ours, theirs)


def test_a_session_token_is_signed_into_the_url() -> None:
    s3 = client(aws_access_key_id="ASIA1", aws_secret_access_key="S", aws_session_token="tok/en=")
    params = {"Bucket": "media", "Key": KEYS[0], "ContentType": "image/png"}
    theirs = botocore_url(s3, "put_object", params)
    ours = at_their_second(s3, theirs).presign(
        "PUT", KEYS[0], expires_in=900, headers={"Content-Type": "image/png"}
    )
    same(ours, theirs)
    assert parse_qs(urlsplit(ours).query)["X-Amz-Security-Token"] == ["tok/en="]


def test_refreshed_temporary_credentials_are_used_at_once() -> None:
    issued = iter(range(1, 100))

    def refresh() -> dict[str, str]:
        n = next(issued)
        expiry = datetime.now(UTC) + timedelta(seconds=60)  # within botocore's refresh window
        return {
            "access_key": f"ASIA{n}",
            "secret_key": f"secret-{n}",
            "token": f"token-{n}",
            "expiry_time": expiry.isoformat(),
        }

    s3 = client()
    s3._request_signer._credentials = RefreshableCredentials.create_from_metadata(
        refresh(), refresh, "test"
    )
    storage = S3BlobStorage(s3, "media")
    tokens = {
        parse_qs(
            urlsplit(
                storage.presign_put(
                    KEYS[0],
                    content_type="image/png",
                    content_length=1,
                    sha256_b64=None,
                    expires_in=60,
                ).url
            ).query
        )["X-Amz-Security-Token"][0]
        for _ in range(3)
    }
    assert len(tokens) == 3  # a new token each time botocore refreshed, none kept


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("token", [None, "SESSION-TOKEN"])
def test_a_header_signed_get_matches_botocore(key: str, token: str | None) -> None:
    s3 = client(aws_access_key_id="AKID", aws_secret_access_key="SECRET", aws_session_token=token)
    ours = SigV4Presigner(s3, "media")
    url = f"{ours.prefix}{quote(key, safe='/~')}"
    theirs = AWSRequest(method="GET", url=url)
    S3SigV4Auth(s3._request_signer._credentials, "s3", "eu-west-1").add_auth(theirs)
    when = datetime.strptime(theirs.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours.clock = lambda: when
    signed_url, headers = ours.sign("GET", key)
    assert signed_url == url
    assert headers["Authorization"] == theirs.headers["Authorization"]
    assert headers.get("x-amz-security-token") == theirs.headers.get("X-Amz-Security-Token")
