"""What the embedded S3 enforces like S3 does: a bucket's CORS rules and its anonymous-read policy.

Pure functions over the bucket's configuration, so each rule is tested without a server.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CorsRule:
    """One rule of a bucket's CORS configuration (S3's ``CORSRule``)."""

    allowed_origins: Sequence[str]
    allowed_methods: Sequence[str]
    allowed_headers: Sequence[str] = ()
    expose_headers: Sequence[str] = ()
    max_age_seconds: int | None = None


def _wildcard_match(pattern: str, value: str) -> bool:
    """S3 allows one ``*`` in an origin or header pattern; matching is case-insensitive."""
    return fnmatch.fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))


def _matches_any(patterns: Iterable[str], value: str) -> bool:
    return any(_wildcard_match(p, value) for p in patterns)


def matching_rule(
    rules: Sequence[CorsRule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> CorsRule | None:
    """The first rule letting ``origin`` use ``method`` with ``request_headers`` (as S3 picks)."""
    for rule in rules:
        if not _matches_any(rule.allowed_origins, origin):
            continue
        if method.upper() not in {m.upper() for m in rule.allowed_methods}:
            continue
        if all(_matches_any(rule.allowed_headers, h) for h in request_headers if h):
            return rule
    return None


def cors_response_headers(
    rule: CorsRule, origin: str, *, preflight: bool, request_headers: Sequence[str] = ()
) -> dict[str, str]:
    """The Access-Control-* headers S3 answers with for a request matched by ``rule``."""
    headers = {
        "Access-Control-Allow-Origin": "*" if list(rule.allowed_origins) == ["*"] else origin,
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if preflight:
        headers["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
        if request_headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(request_headers)
        if rule.max_age_seconds is not None:
            headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    return headers


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _is_everyone(principal: object) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _statement_applies(statement: dict[str, object], resource: str) -> bool:
    actions = _as_list(statement.get("Action"))
    if not any(fnmatch.fnmatchcase("s3:getobject", a.lower()) for a in actions):
        return False
    resources = _as_list(statement.get("Resource"))
    return _is_everyone(statement.get("Principal")) and any(
        fnmatch.fnmatchcase(resource, r.replace("[", "[[]")) for r in resources
    )


def anonymous_read_allowed(policy: str | bytes | None, bucket: str, key: str) -> bool:
    """Whether the bucket policy lets anyone GET ``key`` unsigned.

    Only a statement with ``Principal: "*"`` allowing ``s3:GetObject`` on a matching Resource
    (``arn:aws:s3:::bucket/prefix*`` wildcards) allows it, and a matching Deny wins. No policy, or
    one that cannot be read, allows nothing.
    """
    if not policy or not key:
        return False
    try:
        document = json.loads(policy)
        statements = document.get("Statement", [])
    except (ValueError, AttributeError):
        return False
    if isinstance(statements, dict):
        statements = [statements]
    resource = f"arn:aws:s3:::{bucket}/{key}"
    applying = [s for s in statements if isinstance(s, dict) and _statement_applies(s, resource)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(s.get("Effect") == "Allow" for s in applying)
