"""Argument checks the layers share: whole counts and durations in seconds."""

from __future__ import annotations

import math

__all__ = ["is_count", "is_number", "is_seconds"]


def is_number(value: object) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value: object, minimum: int = 0) -> bool:
    """An int (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_seconds(value: object, *, zero: bool = False) -> bool:
    """A finite number of seconds above 0 (or from 0 with ``zero``)."""
    if not is_number(value):
        return False
    lowest_ok = value >= 0 if zero else value > 0  # type: ignore[operator]
    return lowest_ok and value < math.inf  # type: ignore[operator]
