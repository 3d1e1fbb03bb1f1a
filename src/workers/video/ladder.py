"""Which renditions a source gets, at which sizes.

Rules: a rung is made only when the source's short side is at least the rung's (never upscale);
a source smaller than the smallest rung gets one rendition at its own size; sizes keep the
display aspect ratio and are rounded to even numbers (4:2:0 needs them).
"""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.config.video import Rung


@dataclass(frozen=True)
class PlannedRung:
    """A rung at the size it will be encoded at for one source."""

    rung: Rung
    width: int
    height: int

    @property
    def name(self) -> str:
        return self.rung.name


def even(value: float) -> int:
    """Nearest even integer, at least 2."""
    return max(2, 2 * round(value / 2))


def fit(width: int, height: int, short_side: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled so the short side is ``short_side``, both even."""
    if width >= height:
        return even(width * short_side / height), even(short_side)
    return even(short_side), even(height * short_side / width)


def plan_ladder(width: int, height: int, rungs: tuple[Rung, ...]) -> list[PlannedRung]:
    """Renditions of a ``width`` x ``height`` (display size) source, smallest first."""
    short = min(width, height)
    ordered = sorted(rungs, key=lambda r: r.short_side)
    planned = [
        PlannedRung(r, *fit(width, height, r.short_side)) for r in ordered if r.short_side <= short
    ]
    if planned:
        return planned
    smallest = ordered[0]
    own = smallest.model_copy(update={"name": f"{short - short % 2}p", "short_side": short})
    w, h = width - width % 2, height - height % 2
    return [PlannedRung(own, max(2, w), max(2, h))]
