"""`storage init`: the bucket, its CORS rule for browser PUTs, its multipart clean-up rule, the
bucket policy that makes only derivatives public and the rule archiving originals
(storage_admin/policy.py).

Every step reads what the bucket has before writing, so a second run changes nothing and says so.
Rules of other owners on the same bucket (other CORS rules, other lifecycle rules) are kept; ours
are recognised by their ID or by their content (some stores drop rule IDs).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from media_grpc.config.storage import StorageSettings
from media_grpc.storage_admin.bucket_settings import (
    NotSupported,
    cors_rules,
    error_code,
    if_supported,
    lifecycle_rules,
    set_or_updated,
)
from media_grpc.storage_admin.policy import ensure_archive_rule, ensure_public_read_policy

#: ID of the CORS rule this service owns.
CORS_RULE_ID = "media-grpc-browser-uploads"
#: ID of the lifecycle rule this service owns.
LIFECYCLE_RULE_ID = "media-grpc-abort-incomplete-multipart"
#: Methods a browser needs: PUT to upload (single and parts), GET/HEAD to read back.
CORS_METHODS = ["GET", "HEAD", "PUT"]


class StorageSetupError(Exception):
    """The bucket cannot be set up (no access, owned by someone else, unreachable)."""


def set_up_bucket(client: Any, bucket: str, region: str, settings: StorageSettings) -> list[str]:
    """Create and configure ``bucket``; returns one line per step saying what was done."""
    try:
        return [
            ensure_bucket(client, bucket, region),
            ensure_cors(client, bucket, settings),
            ensure_abort_rule(client, bucket, settings.abort_incomplete_multipart_days),
            ensure_public_read_policy(client, bucket),
            ensure_archive_rule(
                client, bucket, settings.archive_after_days, settings.archive_storage_class
            ),
        ]
    except ClientError as e:
        raise StorageSetupError(f"bucket {bucket}: {error_code(e)}: {e}") from None
    except BotoCoreError as e:
        raise StorageSetupError(f"bucket {bucket}: {e}") from None


def ensure_bucket(client: Any, bucket: str, region: str) -> str:
    try:
        client.head_bucket(Bucket=bucket)
        return f"bucket {bucket}: exists, unchanged"
    except ClientError as e:
        if error_code(e) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    params: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**params)
    except ClientError as e:
        if error_code(e) == "BucketAlreadyOwnedByYou":
            return f"bucket {bucket}: exists, unchanged"
        if error_code(e) == "BucketAlreadyExists":
            raise StorageSetupError(
                f"bucket {bucket} belongs to another account: choose another MEDIA_S3_BUCKET"
            ) from None
        raise
    return f"bucket {bucket}: created in {region}"


def desired_cors_rule(settings: StorageSettings) -> dict[str, Any]:
    return {
        "ID": CORS_RULE_ID,
        "AllowedOrigins": sorted(settings.cors_allowed_origins),
        "AllowedMethods": CORS_METHODS,
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": settings.cors_max_age_seconds,
    }


def _same_cors_rule(a: dict[str, Any], b: dict[str, Any]) -> bool:
    lists = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders")
    return all(
        {v.lower() for v in a.get(name, [])} == {v.lower() for v in b.get(name, [])}
        for name in lists
    ) and a.get("MaxAgeSeconds") == b.get("MaxAgeSeconds")


def ensure_cors(client: Any, bucket: str, settings: StorageSettings) -> str:
    desired = desired_cors_rule(settings)
    rules = if_supported(lambda: cors_rules(client, bucket))
    if isinstance(rules, NotSupported):
        return _cors_not_supported()
    if not settings.cors_allowed_origins:
        return "CORS: no origins configured (MEDIA_STORAGE__CORS_ALLOWED_ORIGINS), unchanged"
    if any(_same_cors_rule(rule, desired) for rule in rules):
        return "CORS: browser PUT from " + ", ".join(desired["AllowedOrigins"]) + ", unchanged"
    kept = [r for r in rules if r.get("ID") != CORS_RULE_ID]
    configuration = {"CORSRules": [*kept, desired]}
    put = if_supported(
        lambda: client.put_bucket_cors(Bucket=bucket, CORSConfiguration=configuration)
    )
    if isinstance(put, NotSupported):
        return _cors_not_supported()
    return (
        "CORS: browser PUT from "
        + ", ".join(desired["AllowedOrigins"])
        + f", exposing ETag, {set_or_updated(kept, rules)}"
    )


def _cors_not_supported() -> str:
    return (
        "CORS: not supported per bucket by this endpoint; configure it on the server "
        "(MinIO: MINIO_API_CORS_ALLOW_ORIGIN)"
    )


def _applies_to_whole_bucket(rule: dict[str, Any]) -> bool:
    rule_filter = rule.get("Filter")
    if rule_filter is None:
        return not rule.get("Prefix")
    return set(rule_filter) <= {"Prefix"} and not rule_filter.get("Prefix")


def is_abort_rule(rule: dict[str, Any], days: int | None = None) -> bool:
    """An enabled, bucket-wide AbortIncompleteMultipartUpload rule (of ``days`` if given)."""
    after = rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")
    return (
        rule.get("Status") == "Enabled"
        and after is not None
        and (days is None or after == days)
        and _applies_to_whole_bucket(rule)
    )


def ensure_abort_rule(client: Any, bucket: str, days: int) -> str:
    what = f"lifecycle: abort incomplete multipart uploads after {days} day(s)"
    rules = if_supported(lambda: lifecycle_rules(client, bucket))
    if isinstance(rules, NotSupported):
        return "lifecycle: not supported by this endpoint; abort stale uploads otherwise"
    if any(is_abort_rule(rule, days) for rule in rules):
        return f"{what}, unchanged"
    kept = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID]
    ours = {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
    }
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, ours]}
    )
    return f"{what}, {set_or_updated(kept, rules)}"
