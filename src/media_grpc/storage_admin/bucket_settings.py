"""Reading a bucket's settings (lifecycle rules, CORS, policy) through boto3, for `storage init`
and `storage check`: the error code of a refusal, the rules a bucket has, and whether the
endpoint implements a setting at all (MinIO, R2 and others answer 501 for some of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")

#: Codes of an endpoint that does not implement a bucket setting.
NOT_SUPPORTED_CODES = frozenset({"NotImplemented", "501", "NotSupported", "UnsupportedOperation"})


class NotSupported:
    """What ``if_supported`` answers when the endpoint does not implement the setting."""


NOT_SUPPORTED = NotSupported()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def if_supported(call: Callable[[], T]) -> T | NotSupported:
    """What ``call()`` answers, or ``NOT_SUPPORTED`` when the endpoint does not implement it;
    any other refusal is raised."""
    try:
        return call()
    except ClientError as e:
        if error_code(e) in NOT_SUPPORTED_CODES:
            return NOT_SUPPORTED
        raise


def lifecycle_rules(client: Any, bucket: str) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules; none when it has no configuration."""
    return _rules(
        lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket),
        "NoSuchLifecycleConfiguration",
        "Rules",
    )


def cors_rules(client: Any, bucket: str) -> list[dict[str, Any]]:
    """The bucket's CORS rules; none when it has no configuration."""
    return _rules(
        lambda: client.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration", "CORSRules"
    )


def _rules(read: Callable[[], Any], none_code: str, key: str) -> list[dict[str, Any]]:
    """The rules under ``key`` of what ``read()`` answers; none when storage refuses it with
    ``none_code`` (the bucket has no such configuration)."""
    try:
        answer = read()
    except ClientError as e:
        if error_code(e) == none_code:
            return []
        raise
    return list(answer.get(key, []))


def set_or_updated(kept: list[Any], found: list[Any]) -> str:
    """``updated`` when ours replaced a rule of ours among ``found``, else ``set``."""
    return "updated" if len(kept) < len(found) else "set"
