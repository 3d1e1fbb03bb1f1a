"""Sizes in messages: human units with the exact bytes beside them."""

from __future__ import annotations

import pytest

from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.model import Purpose
from media_grpc.domain.sizes import human_size
from media_grpc.service.upload_policy import check_declared


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1536, "1.5 KiB (1536 bytes)"),
        (52428800, "50 MiB (52428800 bytes)"),
        (55491685, "52.9 MiB (55491685 bytes)"),
        (5 * 1024**3, "5 GiB (5368709120 bytes)"),
        (5 * 1024**4, "5 TiB (5497558138880 bytes)"),
    ],
)
def test_a_size_is_shown_in_the_largest_unit_it_reaches_with_its_exact_bytes(
    n: int, shown: str
) -> None:
    assert human_size(n) == shown


def test_an_oversized_upload_is_refused_in_human_units_with_the_exact_bytes() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_declared(UploadSettings(), Purpose.POST_IMAGE, "image/jpeg", 55491685)
    assert str(refused.value) == (
        "size_bytes 52.9 MiB (55491685 bytes) is over the 50 MiB (52428800 bytes) limit "
        "for POST_IMAGE"
    )
