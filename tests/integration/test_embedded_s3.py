"""The embedded S3 over HTTP: CORS as the bucket says, anonymous reads as the policy says, an
access log without query strings, and buckets and objects kept on disk across a restart."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from media_grpc.adapters.s3_storage import build_s3_client
from media_grpc.config import Settings
from media_grpc.config.storage import StorageSettings
from media_grpc.embedded.local_s3 import EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, LocalS3
from media_grpc.storage_admin.checks import check_storage
from media_grpc.storage_admin.conformance import Probe
from media_grpc.storage_admin.setup import ensure_cors, set_up_bucket
from tests.embedded_s3 import embedded_client, running_local_s3

APP_ORIGIN = "http://localhost:3000"


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[LocalS3]:
    """An endpoint keeping its data under ``tmp_path``."""
    with running_local_s3(tmp_path / "s3") as local:
        yield local


@pytest.fixture
def bucket(kept: LocalS3) -> str:
    """A bucket set up as `storage init` and the embedded start-up do."""
    name = f"embedded-{uuid.uuid4().hex[:8]}"
    s3 = embedded_client(kept.endpoint_url)
    s3.create_bucket(Bucket=name)
    ensure_cors(s3, name, StorageSettings(cors_allowed_origins=[APP_ORIGIN]))
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{name}/variants/*", f"arn:aws:s3:::{name}/transcoded/*"],
    }
    s3.put_bucket_policy(
        Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
    )
    return name


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def test_a_preflight_from_the_apps_origin_gets_the_rule_of_storage_init(
    kept: LocalS3, bucket: str
) -> None:
    answer = requests.options(
        f"{kept.endpoint_url}/{bucket}/uploads/a.jpg",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert answer.status_code == 200
    headers = cors_headers(answer)
    assert headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert headers["Access-Control-Expose-Headers"] == "ETag"


def test_a_preflight_from_another_origin_is_refused_without_cors_headers(
    kept: LocalS3, bucket: str
) -> None:
    answer = requests.options(
        f"{kept.endpoint_url}/{bucket}/uploads/a.jpg",
        headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert cors_headers(answer) == {}


def test_a_presigned_put_from_the_apps_origin_exposes_its_etag_and_others_get_no_cors(
    kept: LocalS3, bucket: str
) -> None:
    s3 = embedded_client(kept.endpoint_url)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploads/b"})
    allowed = requests.put(url, data=b"abc", headers={"Origin": APP_ORIGIN}, timeout=10)
    assert allowed.status_code == 200
    assert cors_headers(allowed) == {
        "Access-Control-Allow-Origin": APP_ORIGIN,
        "Access-Control-Expose-Headers": "ETag",
    }
    other = requests.put(url, data=b"abc", headers={"Origin": "http://evil.test"}, timeout=10)
    assert cors_headers(other) == {}


def test_anonymous_reads_reach_variants_only_and_signed_reads_reach_everything(
    kept: LocalS3, bucket: str
) -> None:
    s3 = embedded_client(kept.endpoint_url)
    s3.put_object(Bucket=bucket, Key="variants/a/thumb.webp", Body=b"thumb")
    s3.put_object(Bucket=bucket, Key="uploads/a.jpg", Body=b"original")
    base = f"{kept.endpoint_url}/{bucket}"

    assert requests.get(f"{base}/variants/a/thumb.webp", timeout=10).content == b"thumb"
    assert requests.get(f"{base}/uploads/a.jpg", timeout=10).status_code == 403
    assert requests.get(f"{base}?list-type=2", timeout=10).status_code == 403
    assert requests.put(f"{base}/variants/a/x", data=b"x", timeout=10).status_code == 403
    presigned = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "uploads/a.jpg"}
    )
    assert requests.get(presigned, timeout=10).content == b"original"


def test_the_access_log_names_paths_without_query_strings(
    kept: LocalS3, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = embedded_client(kept.endpoint_url)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploads/c"})
    with caplog.at_level(logging.INFO, logger="media_grpc.embedded.s3"):
        requests.put(url, data=b"abc", timeout=10).raise_for_status()
    lines = [r.getMessage() for r in caplog.records if r.name == "media_grpc.embedded.s3"]
    assert f"PUT /{bucket}/uploads/c 200" in lines
    assert not any("Signature" in line or "?" in line for line in lines)


def test_objects_config_and_multipart_etags_survive_a_restart(
    tmp_path: Path, kept: LocalS3, bucket: str
) -> None:
    s3 = embedded_client(kept.endpoint_url)
    s3.put_object(Bucket=bucket, Key="variants/a b.webp", Body=b"v", ContentType="image/webp")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="uploads/big")
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b")):
        etag = s3.upload_part(
            Bucket=bucket,
            Key="uploads/big",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="uploads/big",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    s3.put_object(Bucket=bucket, Key="uploads/deleted", Body=b"d")
    s3.delete_object(Bucket=bucket, Key="uploads/deleted")
    big_etag = s3.head_object(Bucket=bucket, Key="uploads/big")["ETag"]
    kept.stop()

    again = LocalS3(0, tmp_path / "s3")
    s3 = embedded_client(again.start())
    try:
        assert again.restored.lost == []
        variant = s3.get_object(Bucket=bucket, Key="variants/a b.webp")
        assert (variant["Body"].read(), variant["ContentType"]) == (b"v", "image/webp")
        assert s3.head_object(Bucket=bucket, Key="uploads/big")["ETag"] == big_etag
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert "uploads/deleted" not in listed
        assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["ExposeHeaders"] == ["ETag"]
        anonymous = requests.get(f"{again.endpoint_url}/{bucket}/variants/a%20b.webp", timeout=10)
        assert anonymous.content == b"v"
    finally:
        again.stop()


def test_a_damaged_object_file_is_reported_lost_with_its_reason(
    tmp_path: Path, kept: LocalS3, bucket: str
) -> None:
    embedded_client(kept.endpoint_url).put_object(
        Bucket=bucket, Key="uploads/x.jpg", Body=b"original"
    )
    kept.stop()
    for data in (tmp_path / "s3").glob("*/blobs/*"):
        data.write_bytes(b"damaged")

    again = LocalS3(0, tmp_path / "s3")
    again.start()
    try:
        [lost] = again.restored.lost
        assert (lost.bucket, lost.key) == (bucket, "uploads/x.jpg")
        assert "does not match the size recorded" in lost.reason
    finally:
        again.stop()


def test_an_anonymous_refusal_carries_cors_headers_for_the_apps_origin(
    kept: LocalS3, bucket: str
) -> None:
    embedded_client(kept.endpoint_url).put_object(
        Bucket=bucket, Key="uploads/private.jpg", Body=b"x"
    )
    refused = requests.get(
        f"{kept.endpoint_url}/{bucket}/uploads/private.jpg",
        headers={"Origin": APP_ORIGIN},
        timeout=10,
    )
    assert refused.status_code == 403
    assert "<Code>AccessDenied</Code>" in refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_a_bucket_answers_the_region_it_was_created_in(kept: LocalS3) -> None:
    s3 = embedded_client(kept.endpoint_url)
    name = f"embedded-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_objects_kept_by_the_earlier_moto_mirror_are_served(tmp_path: Path) -> None:
    """The layout the moto-based endpoint wrote: one ``<sha256 of key>.data`` beside its record,
    moto's lower-case metadata with request headers mixed in."""
    bucket_dir = tmp_path / "s3" / hashlib.sha256(b"legacy").hexdigest()
    (bucket_dir / "objects").mkdir(parents=True)
    (bucket_dir / "bucket.json").write_text(json.dumps({"name": "legacy", "requests": {"": ""}}))
    stem = bucket_dir / "objects" / hashlib.sha256(b"variants/a.webp").hexdigest()
    stem.with_suffix(".data").write_bytes(b"webp bytes")
    record = {
        "key": "variants/a.webp",
        "size": 10,
        "sha256": hashlib.sha256(b"webp bytes").hexdigest(),
        "etag": hashlib.md5(b"webp bytes", usedforsecurity=False).hexdigest(),
        "storage_class": "STANDARD",
        "metadata": {
            "content-type": "image/webp",
            "x-amz-content-sha256": "ab",
            "x-amz-meta-a": "b",
        },
    }
    stem.with_suffix(".json").write_text(json.dumps(record))
    local = LocalS3(0, tmp_path / "s3")
    s3 = embedded_client(local.start())
    try:
        answer = s3.get_object(Bucket="legacy", Key="variants/a.webp")
        assert answer["Body"].read() == b"webp bytes"
        assert (answer["ContentType"], answer["Metadata"]) == ("image/webp", {"a": "b"})
        assert answer["ETag"] == f'"{record["etag"]}"'
    finally:
        local.stop()


def test_storage_check_finds_every_protection_enforced_by_the_embedded_s3(kept: LocalS3) -> None:
    settings = Settings(
        s3_endpoint_url=kept.endpoint_url,
        s3_access_key_id=EMBEDDED_ACCESS_KEY,
        s3_secret_access_key=EMBEDDED_SECRET_KEY,  # type: ignore[arg-type]
        s3_bucket=f"check-{uuid.uuid4().hex[:12]}",
        storage=StorageSettings(cors_allowed_origins=[APP_ORIGIN]),
    )
    s3 = build_s3_client(
        kept.endpoint_url, "us-east-1", EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY, "path"
    )
    set_up_bucket(s3, settings.s3_bucket, "us-east-1", settings.storage)

    report = check_storage(s3, settings)

    unenforced = [r.probe for r in report.results if r.enforced is False]
    assert unenforced == [Probe.VERSIONING]  # off: the service compensates (ETag pinning)
    assert report.exit_code == 0
