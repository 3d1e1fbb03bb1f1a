"""Fuzzing the JWT claims parser and the page tokens: any input ends as the caller or the
documented refusal (UNAUTHENTICATED, INVALID_ARGUMENT), never another exception."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.config.auth import AuthSettings
from media_grpc.domain.errors import InvalidArgument, Unauthenticated
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service.queries import PageTokens
from tests.fuzz.budget import fuzz
from tests.fuzz.corpus import CLAIMS, PAGE_TOKENS
from tests.media_records import make_media

AUTH = AuthSettings()
VERIFIER = TokenVerifier(AUTH)
SECRET = AUTH.jwt_secret.get_secret_value()
TOKENS = PageTokens(b"k" * 32)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def signed(claims: dict[str, Any]) -> str:
    """An HS256 token of any JSON claims (PyJWT's ``jwt.encode`` refuses some, a forger
    would not), signed with the server's key."""
    payload = json.dumps(claims).encode()
    return jwt.api_jws.PyJWS().encode(payload, SECRET, algorithm="HS256")


def good_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "alice",
        "iss": AUTH.jwt_issuer,
        "aud": AUTH.jwt_audience,
        "iat": now,
        "exp": now + 60,
    }


def principal_or_refusal(token: str) -> Principal | None:
    """The caller, or None for UNAUTHENTICATED; any other exception fails the test."""
    try:
        return VERIFIER.principal(token)
    except Unauthenticated:
        return None


def assert_a_caller_or_unauthenticated(claims: dict[str, Any]) -> None:
    """``claims``, signed with the right key, give a named caller, a service only by its role,
    or UNAUTHENTICATED; never another error."""
    found = principal_or_refusal(signed(claims))
    if found is not None:
        assert isinstance(found.subject, str) and found.subject
        assert found.is_service == (
            claims.get("role") in ("service", ["service"])
            or (isinstance(claims.get("role"), list) and "service" in claims["role"])
        )


@pytest.mark.parametrize("changed", CLAIMS, ids=repr)
def test_corpus_claims_signed_with_the_right_key_end_as_a_caller_or_unauthenticated(
    changed: dict[str, Any],
) -> None:
    assert_a_caller_or_unauthenticated({**good_claims(), **changed})


@fuzz(0.5)
@given(
    st.dictionaries(
        st.sampled_from(["sub", "iss", "aud", "iat", "exp", "nbf", "role", "jti"]),
        json_values,
        max_size=4,
    ),
    st.sets(st.sampled_from(["sub", "iss", "aud", "iat", "exp"]), max_size=2),
)
def test_any_claims_signed_with_the_right_key_end_as_a_caller_or_unauthenticated(
    changed: dict[str, Any], dropped: set[str]
) -> None:
    claims = {k: v for k, v in {**good_claims(), **changed}.items() if k not in dropped}
    assert_a_caller_or_unauthenticated(claims)


@fuzz(0.5)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_bearer_string_is_unauthenticated(token: str) -> None:
    assert principal_or_refusal(token) is None


def media(media_id: str, created_at: datetime) -> Media:
    # Expiring when created: any drawn moment, datetime.max included, stays in range.
    return make_media("alice", media_id=media_id, at=created_at, expires_at=created_at)


def page_or_refusal(token: str, owner: str) -> tuple[datetime, str] | None:
    try:
        return TOKENS.read(token, owner)
    except InvalidArgument as e:
        assert e.field == "page_token"
        return None


@pytest.mark.parametrize("token", PAGE_TOKENS, ids=lambda t: repr(t[:20]))
def test_corpus_page_tokens_are_invalid_argument(token: str) -> None:
    assert page_or_refusal(token, "alice") is None


@fuzz(0.5)
@given(st.text(max_size=200), st.text(min_size=1, max_size=20))
def test_any_page_token_ends_as_a_position_or_invalid_argument(token: str, owner: str) -> None:
    page_or_refusal(token, owner)


@fuzz(0.5)
@given(
    st.text(min_size=1, max_size=40),
    st.datetimes(timezones=st.just(UTC)),
    st.text(min_size=1, max_size=20),
    st.data(),
)
def test_an_issued_page_token_reads_back_only_for_its_owner_and_only_unchanged(
    media_id: str, created_at: datetime, other_owner: str, data: st.DataObject
) -> None:
    token = TOKENS.issue(media(media_id, created_at), "alice")
    assert TOKENS.read(token, "alice") == (created_at, media_id)
    if other_owner != "alice":
        assert page_or_refusal(token, other_owner) is None
    at = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AQgw-_=.x"))
    changed = token[:at] + replacement + token[at + 1 :]
    assert page_or_refusal(changed, "alice") in (None, (created_at, media_id))
