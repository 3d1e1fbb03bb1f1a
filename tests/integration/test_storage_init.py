"""`storage init` against the strict S3 (Ceph's RADOS Gateway, or MEDIA_TEST_S3_URL): bucket,
CORS rule, abort rule, bucket policy, archive rule; twice is clean."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from media_grpc.config.storage import StorageSettings
from media_grpc.storage_admin.policy import ARCHIVE_RULE_ID, PUBLIC_READ_SID, bucket_policy
from media_grpc.storage_admin.setup import (
    CORS_RULE_ID,
    LIFECYCLE_RULE_ID,
    StorageSetupError,
    lifecycle_rules,
    set_up_bucket,
)
from tests.s3_buckets import client_of, delete_bucket, unique_bucket
from tests.services import S3Service

ORIGINS = ["https://app.example.com", "http://localhost:3000"]
#: A region of the test store other than us-east-1 (MEDIA_TEST_S3_OTHER_REGION; the strict S3's
#: zonegroup, ``default``, unless set).
OTHER_REGION = os.environ.get("MEDIA_TEST_S3_OTHER_REGION", "default")


@pytest.fixture
def client(s3_admin: Any) -> Any:
    return s3_admin


@pytest.fixture
def bucket(s3_admin: Any) -> Iterator[str]:
    """A bucket name of this test's own; the bucket, whoever made it, is deleted afterwards."""
    name = unique_bucket("init")
    yield name
    delete_bucket(s3_admin, name)


def rules_by_id(client: Any, bucket: str) -> dict[str, dict[str, Any]]:
    return {rule["ID"]: rule for rule in lifecycle_rules(client, bucket)}


def test_storage_init_creates_the_bucket_with_its_cors_and_abort_rules(
    client: Any, bucket: str
) -> None:
    lines = set_up_bucket(
        client, bucket, "us-east-1", StorageSettings(cors_allowed_origins=ORIGINS)
    )

    assert lines[0] == f"bucket {bucket}: created in us-east-1"
    [cors] = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert sorted(cors["AllowedOrigins"]) == sorted(ORIGINS)
    assert sorted(cors["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
    assert cors["AllowedHeaders"] == ["*"]
    assert cors["ExposeHeaders"] == ["ETag"]
    rule = rules_by_id(client, bucket)[LIFECYCLE_RULE_ID]
    assert rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_storage_init_run_twice_reports_everything_unchanged(client: Any, bucket: str) -> None:
    settings = StorageSettings(cors_allowed_origins=ORIGINS)
    set_up_bucket(client, bucket, "us-east-1", settings)

    second = set_up_bucket(client, bucket, "us-east-1", settings)

    assert len(second) == 5
    assert all(line.endswith("unchanged") for line in second), second
    assert len(client.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 1
    assert set(rules_by_id(client, bucket)) == {LIFECYCLE_RULE_ID, ARCHIVE_RULE_ID}
    policy = bucket_policy(client, bucket)
    assert policy is not None and len(policy["Statement"]) == 1


def test_storage_init_replaces_its_own_rules_when_settings_change(client: Any, bucket: str) -> None:
    set_up_bucket(client, bucket, "us-east-1", StorageSettings())

    lines = set_up_bucket(
        client,
        bucket,
        "us-east-1",
        StorageSettings(cors_allowed_origins=ORIGINS, abort_incomplete_multipart_days=3),
    )

    assert lines[1].endswith("updated") and lines[2].endswith("updated")
    [cors] = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert sorted(cors["AllowedOrigins"]) == sorted(ORIGINS)
    rule = rules_by_id(client, bucket)[LIFECYCLE_RULE_ID]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}


def test_storage_init_keeps_rules_it_does_not_own(client: Any, bucket: str) -> None:
    client.create_bucket(Bucket=bucket)
    theirs_cors = {
        "ID": "their-downloads",
        "AllowedOrigins": ["https://other.example"],
        "AllowedMethods": ["GET"],
    }
    theirs_lifecycle = {
        "ID": "expire-tmp",
        "Status": "Enabled",
        "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 7},
    }
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [theirs_cors]})
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [theirs_lifecycle]}
    )
    theirs_policy = {
        "Sid": "their-cdn",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    client.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [theirs_policy]})
    )

    lines = set_up_bucket(client, bucket, "us-east-1", StorageSettings())

    assert lines[0] == f"bucket {bucket}: exists, unchanged"
    cors_ids = {r.get("ID") for r in client.get_bucket_cors(Bucket=bucket)["CORSRules"]}
    assert cors_ids == {"their-downloads", CORS_RULE_ID}
    assert set(rules_by_id(client, bucket)) == {"expire-tmp", LIFECYCLE_RULE_ID, ARCHIVE_RULE_ID}
    sids = {s["Sid"] for s in (bucket_policy(client, bucket) or {})["Statement"]}
    assert sids == {"their-cdn", PUBLIC_READ_SID}


def test_storage_init_creates_the_bucket_in_a_region_outside_us_east_1(
    s3: S3Service, bucket: str
) -> None:
    """A region other than us-east-1 goes out as the LocationConstraint. It must be one the
    store has: Ceph's RADOS Gateway names its region after its zonegroup (``default`` here)."""
    client = client_of(s3, OTHER_REGION)

    first = set_up_bucket(client, bucket, OTHER_REGION, StorageSettings())
    second = set_up_bucket(client, bucket, OTHER_REGION, StorageSettings())

    assert first[0] == f"bucket {bucket}: created in {OTHER_REGION}"
    assert client.get_bucket_location(Bucket=bucket)["LocationConstraint"] == OTHER_REGION
    assert second[0] == f"bucket {bucket}: exists, unchanged"


def test_storage_init_in_a_region_the_store_lacks_fails_with_the_store_s_reason(
    s3: S3Service, bucket: str
) -> None:
    client = client_of(s3, "eu-west-1")

    with pytest.raises(StorageSetupError, match=f"bucket {bucket}: InvalidLocationConstraint"):
        set_up_bucket(client, bucket, "eu-west-1", StorageSettings())


def test_storage_init_writes_the_archive_rule_for_originals_and_the_public_read_policy(
    client: Any, bucket: str
) -> None:
    settings = StorageSettings(archive_after_days=90, archive_storage_class="DEEP_ARCHIVE")

    lines = set_up_bucket(client, bucket, "us-east-1", settings)

    assert lines[3] == "bucket policy: anonymous GET of variants/*, transcoded/* only, set"
    assert lines[4] == "lifecycle: archive originals/* to DEEP_ARCHIVE after 90 day(s), set"
    rule = rules_by_id(client, bucket)[ARCHIVE_RULE_ID]
    assert rule["Filter"] == {"Prefix": "originals/"}
    assert rule["Transitions"] == [{"Days": 90, "StorageClass": "DEEP_ARCHIVE"}]
    [statement] = (bucket_policy(client, bucket) or {})["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Resource"] == [
        f"arn:aws:s3:::{bucket}/variants/*",
        f"arn:aws:s3:::{bucket}/transcoded/*",
    ]
