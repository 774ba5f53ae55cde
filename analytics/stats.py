"""The statistics the figures show, as pure functions: quartiles computed as PostgreSQL's
``percentile_cont`` computes them (linear interpolation between the closest ranks), so the
embedded SQLite run and the database agree."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` (0-1) percentile of `values`, interpolated between the closest ranks;
    None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def quartiles(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """(first quartile, median, third quartile) of `values`."""
    return (percentile_cont(values, 0.25), percentile_cont(values, 0.5),
            percentile_cont(values, 0.75))


def number(value: float | int | Decimal | None) -> str:
    """A figure as shown: whole numbers without decimals, others to one decimal."""
    if value is None:
        return "—"
    rounded = round(float(value), 1)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def money(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"
