"""`storage init`: who may read what (the bucket policy) and when originals are archived.

Only what the worker made is public: the policy lets anonymous readers GET the public prefixes
(``variants/``, ``transcoded/``) and nothing else, so the originals under ``uploads/`` and
``originals/`` are served by presigned GETs only. Statements of other owners in the policy are
kept; ours is recognised by its Sid. The archive rule moves frozen originals to a cheaper storage
class after N days; it applies to ``originals/`` only, so derivatives stay in the standard class.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from media_grpc.domain.keys import ORIGINALS_PREFIX, PUBLIC_PREFIXES
from media_grpc.storage_admin.bucket_settings import (
    NotSupported,
    error_code,
    if_supported,
    lifecycle_rules,
    set_or_updated,
)

#: Sid of the policy statement this service owns.
PUBLIC_READ_SID = "media-grpc-public-derivatives"
#: ID of the lifecycle rule that archives originals.
ARCHIVE_RULE_ID = "media-grpc-archive-originals"


def public_read_statement(bucket: str) -> dict[str, Any]:
    """Anonymous ``s3:GetObject`` on the public prefixes only."""
    return {
        "Sid": PUBLIC_READ_SID,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in PUBLIC_PREFIXES],
    }


def bucket_policy(client: Any, bucket: str) -> dict[str, Any] | None:
    """The bucket's policy document, or None when it has none."""
    try:
        answer = client.get_bucket_policy(Bucket=bucket)
    except ClientError as e:
        if error_code(e) in {"NoSuchBucketPolicy", "NoSuchPolicy"}:
            return None
        raise
    document: dict[str, Any] = json.loads(answer["Policy"])
    return document


def _statements(policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    if policy is None:
        return []
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def ensure_public_read_policy(client: Any, bucket: str) -> str:
    """Merge our statement into the bucket policy; statements of others stay as they are."""
    what = "bucket policy: anonymous GET of " + ", ".join(f"{p}*" for p in PUBLIC_PREFIXES)
    desired = public_read_statement(bucket)
    policy = if_supported(lambda: bucket_policy(client, bucket))
    if isinstance(policy, NotSupported):
        return "bucket policy: not supported by this endpoint; make only variants/ public"
    statements = _statements(policy)
    warning = _public_originals_warning(bucket, statements)
    if any(s == desired for s in statements):
        return f"{what} only, unchanged{warning}"
    kept = [s for s in statements if s.get("Sid") != PUBLIC_READ_SID]
    document = dict(policy or {"Version": "2012-10-17"})
    document["Statement"] = [*kept, desired]
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    return f"{what} only, {set_or_updated(kept, statements)}{warning}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _lets_anyone_read_originals(bucket: str, statement: dict[str, Any]) -> bool:
    """An Allow for everyone of s3:GetObject on a resource wider than the public prefixes."""
    principal = statement.get("Principal")
    anyone = principal == "*" or (
        isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))
    )
    actions = {str(a) for a in _as_list(statement.get("Action", []))}
    reads = bool(actions & {"s3:GetObject", "s3:Get*", "s3:*", "*"})
    public = {f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in PUBLIC_PREFIXES}
    wider = any(str(r) not in public for r in _as_list(statement.get("Resource", [])))
    return (
        statement.get("Effect") == "Allow"
        and anyone
        and reads
        and wider
        and not statement.get("Condition")
    )


def _public_originals_warning(bucket: str, statements: list[dict[str, Any]]) -> str:
    others = [
        s
        for s in statements
        if s.get("Sid") != PUBLIC_READ_SID and _lets_anyone_read_originals(bucket, s)
    ]
    if not others:
        return ""
    names = ", ".join(repr(s.get("Sid") or "(no Sid)") for s in others)
    return (
        f"; WARNING: statement {names} lets anyone read beyond variants/ and transcoded/, "
        "originals included: remove it (docs/operations.md, migrating a bucket)"
    )


def desired_archive_rule(days: int, storage_class: str) -> dict[str, Any]:
    return {
        "ID": ARCHIVE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ORIGINALS_PREFIX},
        "Transitions": [{"Days": days, "StorageClass": storage_class}],
    }


def is_archive_rule(rule: dict[str, Any]) -> bool:
    """An enabled rule with a transition that applies to the originals' prefix."""
    prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix"))
    return (
        rule.get("Status") == "Enabled"
        and bool(rule.get("Transitions"))
        and prefix == ORIGINALS_PREFIX
    )


def describe_archive_rule(rule: dict[str, Any]) -> str:
    transition = rule["Transitions"][0]
    return (
        f"{ORIGINALS_PREFIX}* to {transition.get('StorageClass')} "
        f"after {transition.get('Days')} day(s)"
    )


def ensure_archive_rule(client: Any, bucket: str, days: int, storage_class: str) -> str:
    """Write (or replace) the rule archiving originals; with ``days`` 0, remove ours."""
    rules = if_supported(lambda: lifecycle_rules(client, bucket))
    if isinstance(rules, NotSupported):
        return "lifecycle: not supported by this endpoint; originals are not archived"
    kept = [r for r in rules if r.get("ID") != ARCHIVE_RULE_ID]
    if days == 0:
        if len(kept) == len(rules):
            return "lifecycle: originals are not archived (MEDIA_STORAGE__ARCHIVE_AFTER_DAYS=0)"
        _put_rules(client, bucket, kept)
        return "lifecycle: archive rule for originals removed"
    desired = desired_archive_rule(days, storage_class)
    what = f"lifecycle: archive {describe_archive_rule(desired)}"
    if any(_same_archive_rule(r, desired) for r in rules):
        return f"{what}, unchanged"
    _put_rules(client, bucket, [*kept, desired])
    return f"{what}, {set_or_updated(kept, rules)}"


def _same_archive_rule(rule: dict[str, Any], desired: dict[str, Any]) -> bool:
    return is_archive_rule(rule) and rule["Transitions"] == desired["Transitions"]


def _put_rules(client: Any, bucket: str, rules: list[dict[str, Any]]) -> None:
    if rules:
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
    else:
        client.delete_bucket_lifecycle(Bucket=bucket)
