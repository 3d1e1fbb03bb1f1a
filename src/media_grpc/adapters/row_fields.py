"""Copying between domain dataclasses and their table rows: the fields a column holds as it is,
and the times, which SQLite gives back without their (UTC) zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload


def same_named(source: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``source``'s attributes ``names``, by name: fields stored in columns of the same name."""
    return {name: getattr(source, name) for name in names}


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=UTC)


def aware_times(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``row``'s time columns ``names``, by name, in UTC."""
    return {name: aware(getattr(row, name)) for name in names}
