"""Sizes as people read them, with the exact bytes beside: ``52.9 MiB (55491685 bytes)``."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(n: int) -> str:
    """``n`` bytes in the largest binary unit it reaches (one decimal, none when exact), then
    the exact count: ``50 MiB (52428800 bytes)``; below 1 KiB just ``512 bytes``."""
    if abs(n) < 1024:
        return f"{n} bytes"
    value, index = n / 1024, 0
    while abs(value) >= 1024 and index < len(_UNITS) - 1:
        value, index = value / 1024, index + 1
    shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{shown} {_UNITS[index]} ({n} bytes)"
