"""A server process's heap once it is built: what exists then stays out of later collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from media_grpc.runtime.heap import YOUNG_THRESHOLD, settle_heap


class Built:
    """An object the collector tracks (instances of plain classes are)."""


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_objects_built_before_the_heap_settles_are_left_out_of_later_collections() -> None:
    built = [Built() for _ in range(100)]
    settle_heap()
    later = [Built() for _ in range(100)]

    collected = {id(o) for o in gc.get_objects()}
    assert not any(id(o) in collected for o in built)
    assert all(id(o) in collected for o in later)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
