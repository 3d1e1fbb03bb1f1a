"""Multipart planning: parts of at least 5 MiB, at most 10,000 of them."""

from __future__ import annotations

import pytest

from media_grpc.domain.model import MultipartSession
from media_grpc.domain.parts import MAX_PARTS, MIN_PART_SIZE, expected_part_size, plan_parts

MiB = 1024 * 1024
GiB = 1024 * MiB


def test_forty_mebibytes_in_eight_mebibyte_parts_is_five_parts() -> None:
    assert plan_parts(40 * MiB, 8 * MiB) == (8 * MiB, 5)


def test_last_part_holds_the_remainder() -> None:
    part_size, count = plan_parts(17 * MiB + 3, 8 * MiB)
    session = MultipartSession("u", part_size, count)
    assert count == 3
    assert expected_part_size(session, 1, 17 * MiB + 3) == 8 * MiB
    assert expected_part_size(session, 3, 17 * MiB + 3) == MiB + 3


def test_preferred_part_size_under_five_mebibytes_is_raised() -> None:
    assert plan_parts(12 * MiB, MiB) == (5 * MiB, 3)


@pytest.mark.parametrize("size", [5 * GiB, 80 * GiB + 1, 5 * 1024 * GiB])
def test_huge_files_get_bigger_parts_never_more_than_ten_thousand(size: int) -> None:
    part_size, count = plan_parts(size, 8 * MiB)
    assert count <= MAX_PARTS
    assert part_size >= MIN_PART_SIZE
    assert part_size % MiB == 0
    assert part_size * (count - 1) < size <= part_size * count


def test_a_file_too_big_for_any_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        plan_parts(6 * 1024 * GiB, 8 * MiB)
