from __future__ import annotations

from media_grpc.config.video import DEFAULT_RUNGS
from workers.video.ladder import plan_ladder


def sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    return [(p.name, p.width, p.height) for p in plan_ladder(width, height, DEFAULT_RUNGS)]


def test_a_1080p_source_gets_360_720_and_1080_but_not_2160() -> None:
    assert sizes(1920, 1080) == [
        ("360p", 640, 360),
        ("720p", 1280, 720),
        ("1080p", 1920, 1080),
    ]


def test_a_2160p_source_gets_every_rung() -> None:
    assert [name for name, _, _ in sizes(3840, 2160)] == ["360p", "720p", "1080p", "2160p"]


def test_portrait_rungs_are_named_by_their_short_side() -> None:
    assert sizes(1080, 1920)[-1] == ("1080p", 1080, 1920)


def test_an_odd_source_gets_even_sizes_close_to_its_aspect_ratio() -> None:
    ((name, width, height),) = sizes(1081, 607)
    assert name == "360p"
    assert width % 2 == 0 and height % 2 == 0
    assert abs(width / height - 1081 / 607) < 0.01


def test_a_source_smaller_than_every_rung_keeps_its_own_size_and_is_never_upscaled() -> None:
    assert sizes(320, 180) == [("180p", 320, 180)]
    assert sizes(321, 181) == [("180p", 320, 180)]


def test_a_source_between_rungs_stops_at_the_rung_below_it() -> None:
    assert [name for name, _, _ in sizes(1280, 719)] == ["360p"]
