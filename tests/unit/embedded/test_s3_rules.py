"""The embedded S3's CORS matching and anonymous-read policy, rule by rule."""

from __future__ import annotations

import json

from media_grpc.embedded.s3_rules import (
    CorsRule,
    anonymous_read_allowed,
    cors_response_headers,
    matching_rule,
)

APP = CorsRule(
    allowed_origins=["http://localhost:3000", "https://*.example.com"],
    allowed_methods=["GET", "HEAD", "PUT"],
    allowed_headers=["*"],
    expose_headers=["ETag"],
    max_age_seconds=3600,
)


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public_read(resource: str, effect: str = "Allow", principal: object = "*") -> dict[str, object]:
    return {
        "Effect": effect,
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": resource,
    }


def test_an_allowed_origin_and_method_match_the_rule() -> None:
    assert matching_rule([APP], "http://localhost:3000", "PUT", ["content-type"]) is APP


def test_an_origin_wildcard_matches_one_subdomain_pattern() -> None:
    assert matching_rule([APP], "https://app.example.com", "PUT") is APP


def test_an_origin_not_listed_matches_no_rule() -> None:
    assert matching_rule([APP], "http://evil.test", "PUT") is None


def test_a_method_not_allowed_matches_no_rule() -> None:
    assert matching_rule([APP], "http://localhost:3000", "DELETE") is None


def test_a_header_not_allowed_matches_no_rule() -> None:
    narrow = CorsRule(["*"], ["PUT"], allowed_headers=["content-type"])
    assert matching_rule([narrow], "http://a.test", "PUT", ["x-amz-meta-secret"]) is None
    assert matching_rule([narrow], "http://a.test", "PUT", ["Content-Type"]) is narrow


def test_the_first_matching_rule_wins() -> None:
    other = CorsRule(["*"], ["GET"])
    assert matching_rule([other, APP], "http://localhost:3000", "PUT") is APP
    assert matching_rule([other, APP], "http://localhost:3000", "GET") is other


def test_a_preflight_answer_names_methods_headers_and_max_age_and_exposes_the_etag() -> None:
    headers = cors_response_headers(
        APP, "http://localhost:3000", preflight=True, request_headers=["content-type"]
    )
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert headers["Access-Control-Max-Age"] == "3600"
    assert headers["Access-Control-Expose-Headers"] == "ETag"


def test_a_simple_request_answer_exposes_the_etag_without_preflight_fields() -> None:
    headers = cors_response_headers(APP, "http://localhost:3000", preflight=False)
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Methods" not in headers


def test_anonymous_reads_follow_the_resource_prefix() -> None:
    document = policy(public_read("arn:aws:s3:::media/variants/*"))
    assert anonymous_read_allowed(document, "media", "variants/a/thumb.webp")
    assert not anonymous_read_allowed(document, "media", "uploads/a.jpg")
    assert not anonymous_read_allowed(document, "other", "variants/a/thumb.webp")


def test_a_matching_deny_wins_over_an_allow() -> None:
    document = policy(
        public_read("arn:aws:s3:::media/*"),
        public_read("arn:aws:s3:::media/originals/*", effect="Deny"),
    )
    assert anonymous_read_allowed(document, "media", "variants/x")
    assert not anonymous_read_allowed(document, "media", "originals/x")


def test_only_statements_for_everyone_allow_anonymous_reads() -> None:
    for_a_role = public_read("arn:aws:s3:::media/*", principal={"AWS": "arn:aws:iam::1:root"})
    assert not anonymous_read_allowed(policy(for_a_role), "media", "x")
    everyone = public_read("arn:aws:s3:::media/*", principal={"AWS": ["*"]})
    assert anonymous_read_allowed(policy(everyone), "media", "x")


def test_no_policy_or_an_unreadable_one_allows_nothing() -> None:
    assert not anonymous_read_allowed(None, "media", "x")
    assert not anonymous_read_allowed("{not json", "media", "x")


def test_other_actions_do_not_allow_reads_but_wildcard_actions_do() -> None:
    put_only = {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
    assert not anonymous_read_allowed(policy(put_only), "media", "x")
    every = {"Effect": "Allow", "Principal": "*", "Action": ["s3:*"], "Resource": "*"}
    assert anonymous_read_allowed(policy(every), "media", "x")
