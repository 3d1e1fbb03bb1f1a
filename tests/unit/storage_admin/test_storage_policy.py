"""`storage init`'s bucket policy and archive rule: merged into what the bucket has."""

from __future__ import annotations

import json
from typing import Any

from media_grpc.storage_admin.policy import (
    ARCHIVE_RULE_ID,
    PUBLIC_READ_SID,
    ensure_archive_rule,
    ensure_public_read_policy,
)
from tests.unit.storage_admin.test_storage_setup import MinioLikeBucket

THEIRS = {
    "Sid": "their-cdn",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/cdn"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::media/*",
}


def statements(bucket: MinioLikeBucket) -> dict[str, dict[str, Any]]:
    assert bucket.policy is not None
    return {s["Sid"]: s for s in json.loads(bucket.policy)["Statement"]}


def test_the_policy_lets_anyone_read_derivatives_and_nothing_else() -> None:
    bucket = MinioLikeBucket()

    ensure_public_read_policy(bucket, "media")

    ours = statements(bucket)[PUBLIC_READ_SID]
    assert ours["Principal"] == "*"
    assert ours["Action"] == "s3:GetObject"
    assert ours["Resource"] == ["arn:aws:s3:::media/variants/*", "arn:aws:s3:::media/transcoded/*"]


def test_the_policy_keeps_other_statements_and_a_second_run_changes_nothing() -> None:
    bucket = MinioLikeBucket()
    bucket.policy = json.dumps({"Version": "2012-10-17", "Statement": [THEIRS]})

    first = ensure_public_read_policy(bucket, "media")
    second = ensure_public_read_policy(bucket, "media")

    assert first.endswith(", set") and second.endswith(", unchanged")
    assert set(statements(bucket)) == {"their-cdn", PUBLIC_READ_SID}
    assert statements(bucket)["their-cdn"] == THEIRS


def test_an_outdated_statement_of_ours_is_replaced_not_duplicated() -> None:
    bucket = MinioLikeBucket()
    old = {**THEIRS, "Sid": PUBLIC_READ_SID, "Principal": "*", "Resource": "arn:aws:s3:::media/*"}
    bucket.policy = json.dumps({"Version": "2012-10-17", "Statement": old})

    line = ensure_public_read_policy(bucket, "media")

    assert line.endswith(", updated")
    [ours] = statements(bucket).values()
    assert "arn:aws:s3:::media/*" not in ours["Resource"]


def test_the_archive_rule_moves_only_originals_and_keeps_other_rules() -> None:
    bucket = MinioLikeBucket()
    bucket.lifecycle = [{"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}}]

    line = ensure_archive_rule(bucket, "media", 30, "DEEP_ARCHIVE")
    again = ensure_archive_rule(bucket, "media", 30, "DEEP_ARCHIVE")

    assert line == "lifecycle: archive originals/* to DEEP_ARCHIVE after 30 day(s), set"
    assert again.endswith(", unchanged")
    rules = {r["ID"]: r for r in bucket.lifecycle}
    assert set(rules) == {"expire-tmp", ARCHIVE_RULE_ID}
    assert rules[ARCHIVE_RULE_ID]["Filter"] == {"Prefix": "originals/"}
    assert rules[ARCHIVE_RULE_ID]["Transitions"] == [{"Days": 30, "StorageClass": "DEEP_ARCHIVE"}]


def test_archive_days_zero_removes_our_rule_only() -> None:
    bucket = MinioLikeBucket()
    bucket.lifecycle = [{"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}}]
    ensure_archive_rule(bucket, "media", 30, "GLACIER")

    line = ensure_archive_rule(bucket, "media", 0, "GLACIER")

    assert line == "lifecycle: archive rule for originals removed"
    assert [r["ID"] for r in bucket.lifecycle] == ["expire-tmp"]


def test_init_warns_about_a_statement_that_keeps_originals_public_and_keeps_it() -> None:
    bucket = MinioLikeBucket()
    everything = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::media/*",
    }
    bucket.policy = json.dumps({"Version": "2012-10-17", "Statement": [everything]})

    line = ensure_public_read_policy(bucket, "media")

    assert line.startswith("bucket policy: anonymous GET of variants/*, transcoded/* only, set; ")
    assert "WARNING: statement '(no Sid)' lets anyone read beyond variants/" in line
    assert len(json.loads(bucket.policy)["Statement"]) == 2


def test_a_cdn_only_statement_is_no_reason_for_a_warning() -> None:
    bucket = MinioLikeBucket()
    bucket.policy = json.dumps({"Version": "2012-10-17", "Statement": [THEIRS]})

    assert "WARNING" not in ensure_public_read_policy(bucket, "media")
