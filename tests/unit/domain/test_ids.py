"""Ids that come in with requests: what is refused, and what an error echoes of them."""

from __future__ import annotations

import pytest

from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.ids import check_id, check_post_id, echo


@pytest.mark.parametrize(
    "value", ["alice", "user-1_2.x", "a" * 128, "9b2e0c3a-1f1d-4c52-8f35-7a1d2c3b4e5f", "é", ""]
)
def test_ordinary_ids_pass(value: str) -> None:
    assert check_id(value, "owner_id") == value


@pytest.mark.parametrize(
    "value", [".", "..", "...", "a/b", "/", "a\x00", "a\nb", "a\u2028b", "a\u200eb", "a" * 129]
)
def test_ids_that_could_escape_a_key_or_a_log_line_are_refused_naming_the_field(
    value: str,
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_id(value, "owner_id")
    assert refused.value.field == "owner_id"
    assert len(refused.value.value) < 80


def test_post_ids_may_hold_slashes_and_dots_as_they_never_become_keys() -> None:
    assert check_post_id("blog/2026/..") == "blog/2026/.."
    with pytest.raises(InvalidArgument):
        check_post_id("p" * 129)


def test_an_echo_is_cut_and_escaped() -> None:
    assert echo("a\nb") == "a\\nb"
    assert echo("x" * 7000) == "x" * 40 + "... (7000 chars)"
