"""The embedded S3 refuses what S3 refuses: forged, expired, re-dated or mismatched signatures,
for requests signed in their headers (boto3) and in their query (presigned URLs, raw HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import botocore.auth
import pytest
import requests
from botocore.exceptions import ClientError

from media_grpc.embedded.local_s3 import EMBEDDED_SECRET_KEY
from tests.embedded_s3 import embedded_client, running_local_s3

PART = 5 * 1024 * 1024


def client(endpoint: str, secret: str = EMBEDDED_SECRET_KEY) -> Any:
    return embedded_client(endpoint, secret=secret, retries={"max_attempts": 1})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_local_s3() as local:
        yield local.endpoint_url


@pytest.fixture
def bucket(endpoint: str) -> str:
    """A bucket whose ``variants/`` prefix anyone may read, and a private original in it."""
    name = f"signed-{uuid.uuid4().hex[:8]}"
    s3 = client(endpoint)
    s3.create_bucket(Bucket=name)
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/variants/*",
    }
    s3.put_bucket_policy(
        Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
    )
    s3.put_object(Bucket=name, Key="originals/a.jpg", Body=b"private", ContentType="image/jpeg")
    s3.put_object(Bucket=name, Key="variants/a.webp", Body=b"public", ContentType="image/webp")
    return name


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def refused(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/xml"
    assert f"<Code>{code}</Code>" in answer.text


def error_of(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return int(response["ResponseMetadata"]["HTTPStatusCode"]), str(response["Error"]["Code"])


def body_of(endpoint: str, bucket: str, key: str) -> bytes:
    return bytes(client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read())


# Query-signed (presigned URLs) ---------------------------------------------------------------


def test_a_bare_forged_signature_lists_reads_writes_and_deletes_nothing(
    endpoint: str, bucket: str
) -> None:
    base = f"{endpoint}/{bucket}"
    forged = {"X-Amz-Signature": "0000"}
    refused(
        requests.get(f"{base}?list-type=2&prefix=originals/", params=forged, timeout=10),
        400,
        "AuthorizationQueryParametersError",
    )
    refused(
        requests.get(f"{base}/originals/a.jpg", params=forged, timeout=10),
        400,
        "AuthorizationQueryParametersError",
    )
    put = requests.put(f"{base}/variants/a.webp", params=forged, data=b"<script>", timeout=10)
    refused(put, 400, "AuthorizationQueryParametersError")
    deleted = requests.delete(f"{base}/originals/a.jpg", params=forged, timeout=10)
    refused(deleted, 400, "AuthorizationQueryParametersError")
    assert body_of(endpoint, bucket, "variants/a.webp") == b"public"
    assert body_of(endpoint, bucket, "originals/a.jpg") == b"private"


def test_a_presigned_url_with_a_forged_signature_is_refused(endpoint: str, bucket: str) -> None:
    url = client(endpoint).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "originals/a.jpg"}
    )
    assert requests.get(url, timeout=10).content == b"private"
    refused(
        requests.get(with_query(url, **{"X-Amz-Signature": "0" * 64}), timeout=10),
        403,
        "SignatureDoesNotMatch",
    )
    wrong_secret = client(endpoint, secret="guessed").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "originals/a.jpg"}
    )
    refused(requests.get(wrong_secret, timeout=10), 403, "SignatureDoesNotMatch")


def test_a_presigned_url_for_one_key_does_not_open_another(endpoint: str, bucket: str) -> None:
    url = client(endpoint).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "variants/a.webp"}
    )
    other = url.replace("/variants/a.webp", "/originals/a.jpg")
    refused(requests.get(other, timeout=10), 403, "SignatureDoesNotMatch")


def test_an_expired_presigned_url_is_refused(
    endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_hours_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=2)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: two_hours_ago)
    url = client(endpoint).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "originals/a.jpg"}, ExpiresIn=3600
    )
    refused(requests.get(url, timeout=10), 403, "AccessDenied")
    assert "expired" in requests.get(url, timeout=10).text


def test_a_re_dated_presigned_url_is_refused(endpoint: str, bucket: str) -> None:
    url = client(endpoint).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "variants/a.webp"}
    )
    to_2020 = with_query(url, **{"X-Amz-Date": "20200101T000000Z"})
    refused(requests.put(to_2020, data=b"<script>", timeout=10), 403, "AccessDenied")
    signed_at = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    later = dt.datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ") + dt.timedelta(seconds=1)
    one_second_later = with_query(url, **{"X-Amz-Date": later.strftime("%Y%m%dT%H%M%SZ")})
    refused(
        requests.put(one_second_later, data=b"<script>", timeout=10), 403, "SignatureDoesNotMatch"
    )
    longer = with_query(url, **{"X-Amz-Expires": "604800"})
    refused(requests.put(longer, data=b"<script>", timeout=10), 403, "SignatureDoesNotMatch")
    assert body_of(endpoint, bucket, "variants/a.webp") == b"public"


def test_a_presigned_url_valid_for_more_than_seven_days_is_refused(
    endpoint: str, bucket: str
) -> None:
    url = client(endpoint).generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "originals/a.jpg"},
        ExpiresIn=7 * 24 * 3600 + 1,
    )
    refused(requests.get(url, timeout=10), 400, "AuthorizationQueryParametersError")


def test_a_presigned_put_refuses_another_content_type_or_a_longer_body(
    endpoint: str, bucket: str
) -> None:
    url = client(endpoint).generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": "uploads/b.png",
            "ContentType": "image/png",
            "ContentLength": 3,
        },
    )
    html = {"Content-Type": "text/html"}
    refused(requests.put(url, data=b"abc", headers=html, timeout=10), 403, "SignatureDoesNotMatch")
    refused(requests.put(url, data=b"abc", timeout=10), 403, "SignatureDoesNotMatch")
    png = {"Content-Type": "image/png"}
    refused(requests.put(url, data=b"abcd", headers=png, timeout=10), 403, "SignatureDoesNotMatch")
    assert requests.put(url, data=b"abc", headers=png, timeout=10).status_code == 200
    assert body_of(endpoint, bucket, "uploads/b.png") == b"abc"


def test_a_presigned_part_refuses_another_part_number(endpoint: str, bucket: str) -> None:
    s3 = client(endpoint)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="uploads/big")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "uploads/big", "UploadId": upload_id, "PartNumber": 1},
    )
    refused(
        requests.put(with_query(url, partNumber="2"), data=b"x", timeout=10),
        403,
        "SignatureDoesNotMatch",
    )
    assert requests.put(url, data=b"x", timeout=10).status_code == 200
    parts = s3.list_parts(Bucket=bucket, Key="uploads/big", UploadId=upload_id)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]


# Header-signed (boto3) -----------------------------------------------------------------------


def tampering(s3: Any, change: Callable[[Any], None]) -> None:
    """Change each request after botocore signed it, before it is sent."""
    s3.meta.events.register("before-send.s3.*", lambda request, **_: change(request))


def test_a_header_signed_request_with_a_wrong_secret_or_a_forged_signature_is_refused(
    endpoint: str, bucket: str
) -> None:
    wrong = client(endpoint, secret="guessed")
    assert error_of(lambda: wrong.get_object(Bucket=bucket, Key="originals/a.jpg")) == (
        403,
        "SignatureDoesNotMatch",
    )
    forged = client(endpoint)

    def forge(request: Any) -> None:
        header = request.headers["Authorization"]
        header = header.decode() if isinstance(header, bytes) else header
        request.headers["Authorization"] = header[:-64] + "0" * 64

    tampering(forged, forge)
    assert error_of(lambda: forged.list_objects_v2(Bucket=bucket)) == (
        403,
        "SignatureDoesNotMatch",
    )


def test_a_header_signed_request_from_another_time_is_refused(
    endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = client(endpoint)
    an_hour_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: an_hour_ago)
    assert error_of(lambda: s3.delete_object(Bucket=bucket, Key="originals/a.jpg")) == (
        403,
        "RequestTimeTooSkewed",
    )
    monkeypatch.undo()
    redated = client(endpoint)

    def redate(request: Any) -> None:
        request.headers["X-Amz-Date"] = "20200101T000000Z"

    tampering(redated, redate)
    status, _ = error_of(lambda: redated.delete_object(Bucket=bucket, Key="originals/a.jpg"))
    assert status == 403
    assert body_of(endpoint, bucket, "originals/a.jpg") == b"private"


def test_a_header_signed_put_refuses_a_changed_content_type_or_body(
    endpoint: str, bucket: str
) -> None:
    retyped = client(endpoint)

    def retype(request: Any) -> None:
        request.headers["Content-Type"] = "text/html"

    tampering(retyped, retype)
    put = lambda s3: s3.put_object(  # noqa: E731
        Bucket=bucket, Key="variants/a.webp", Body=b"fine", ContentType="image/webp"
    )
    assert error_of(lambda: put(retyped)) == (403, "SignatureDoesNotMatch")
    lengthened = client(endpoint)

    def lengthen(request: Any) -> None:
        request.body = b"fine<script>"
        request.headers["Content-Length"] = str(len(request.body))

    tampering(lengthened, lengthen)
    status, code = error_of(lambda: put(lengthened))
    assert (status, code) == (400, "XAmzContentSHA256Mismatch")
    assert body_of(endpoint, bucket, "variants/a.webp") == b"public"


def test_a_header_signed_part_refuses_a_changed_part_number(endpoint: str, bucket: str) -> None:
    s3 = client(endpoint)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="uploads/c")["UploadId"]
    renumbered = client(endpoint)

    def renumber(request: Any) -> None:
        request.url = request.url.replace("partNumber=1", "partNumber=2")

    tampering(renumbered, renumber)
    upload = lambda: renumbered.upload_part(  # noqa: E731
        Bucket=bucket, Key="uploads/c", UploadId=upload_id, PartNumber=1, Body=b"x"
    )
    assert error_of(upload) == (403, "SignatureDoesNotMatch")
    assert s3.list_parts(Bucket=bucket, Key="uploads/c", UploadId=upload_id).get("Parts", []) == []


def test_a_sigv2_signature_is_refused(endpoint: str, bucket: str) -> None:
    v2 = embedded_client(endpoint, signature_version="s3")
    url = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "originals/a.jpg"}
    )
    assert "Signature=" in url
    refused(requests.get(url, timeout=10), 400, "AuthorizationQueryParametersError")


# Anonymous -----------------------------------------------------------------------------------


def test_anonymous_requests_read_only_the_public_prefix(endpoint: str, bucket: str) -> None:
    base = f"{endpoint}/{bucket}"
    assert requests.get(f"{base}/variants/a.webp", timeout=10).content == b"public"
    assert requests.head(f"{base}/variants/a.webp", timeout=10).status_code == 200
    refused(requests.get(f"{base}/originals/a.jpg", timeout=10), 403, "AccessDenied")
    refused(requests.get(f"{base}?list-type=2", timeout=10), 403, "AccessDenied")
    refused(requests.get(f"{endpoint}/", timeout=10), 403, "AccessDenied")
    refused(requests.put(f"{base}/variants/a.webp", data=b"x", timeout=10), 403, "AccessDenied")
    refused(requests.delete(f"{base}/variants/a.webp", timeout=10), 403, "AccessDenied")
    refused(requests.delete(f"{base}/originals/a.jpg", timeout=10), 403, "AccessDenied")
    refused(requests.post(f"{base}/variants/b?uploads", timeout=10), 403, "AccessDenied")
    assert body_of(endpoint, bucket, "variants/a.webp") == b"public"
    assert body_of(endpoint, bucket, "originals/a.jpg") == b"private"
