"""A bearer token that is no well-formed JWT is told what is wrong with its shape."""

from __future__ import annotations

import pytest

from media_grpc.domain.token_shape import malformed

HEADER = "eyJhbGciOiJIUzI1NiJ9"  # {"alg":"HS256"}
PAYLOAD = "eyJzdWIiOiJhbGljZSJ9"  # {"sub":"alice"}


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("abc", "the bearer token is not a JWT: it has 1 dot-separated part, a JWT has 3"),
        ("a.b", "the bearer token is not a JWT: it has 2 dot-separated parts, a JWT has 3"),
        (f"{HEADER}.{PAYLOAD}.sig\n", "the bearer token has spaces or line breaks around it"),
        (f"{HEADER}..sig", "the bearer token's payload is empty"),
        (f"{HEADER}.{PAYLOAD}.a+b/", "the bearer token's signature is not base64url"),
        (f"a.{PAYLOAD}.sig", "the bearer token's header is not base64url (cut short"),
        (f"_w.{PAYLOAD}.sig", "the bearer token's header is not JSON once base64url-decoded"),
        (f"{HEADER}.WzFd.sig", "the bearer token's payload is not a JSON object"),
    ],
)
def test_a_malformed_token_is_named_by_what_is_wrong_with_it(token: str, said: str) -> None:
    problem = malformed(token)
    assert problem is not None and problem.startswith(said), problem


def test_a_token_of_the_right_shape_is_left_to_the_verifier() -> None:
    assert malformed(f"{HEADER}.{PAYLOAD}.c2lnbmF0dXJl") is None
