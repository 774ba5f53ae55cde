"""The shape of a figure: its rows and columns (the numbers, as computed), the bars its chart
draws, and the cases behind a bar for the drill-down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from analytics.period import parse_month

Kind = Literal["count", "days", "hours", "money"]


class UnknownBar(ValueError):
    """A drill-down asked for a row or column the figure does not have."""


@dataclass(frozen=True)
class Column:
    """One number of each row. A count of cases may `drill` to the patients behind it; a
    statistic or a cost names its `basis`, the count of the cases it was computed from (for
    small-count suppression); a total names its `parts`, hidden when any of them is."""

    key: str
    label: str
    kind: Kind = "count"
    basis: str | None = None
    parts: tuple[str, ...] = ()
    drill: bool = False


@dataclass(frozen=True)
class Series:
    """The bars of one column, optionally with a whisker from the column `low` to `high` (the
    interquartile range)."""

    column: str
    low: str | None = None
    high: str | None = None


@dataclass
class Row:
    key: str  # what a drill-down names: a month "2025-03", a cycle number, a category...
    labels: tuple[str, ...]
    values: dict[str, Any]
    in_chart: bool = True


@dataclass
class Figure:
    slug: str
    title: str
    description: str
    dimensions: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: list[Row]
    series: tuple[Series, ...]
    unit: str
    # Whether the cases behind a number are patients (a drill-down lists them).
    drills: bool = True
    notes: list[str] = field(default_factory=list)

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise UnknownBar(key)

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise UnknownBar(key)


@dataclass(frozen=True)
class Case:
    """One case behind a bar: whose, when, and what was measured."""

    patient_id: int
    on: dt.date
    detail: str


# --- helpers of the figures' rows --------------------------------------------------------------


def stats_columns(unit: str, basis: str, kind: Kind = "days") -> tuple[Column, ...]:
    """The median, Q1 and Q3 columns of a statistic in `unit`, of the cases counted in `basis`."""
    return (Column("median", f"Median ({unit})", kind, basis=basis),
            Column("q1", f"Q1 ({unit})", kind, basis=basis),
            Column("q3", f"Q3 ({unit})", kind, basis=basis))


def stats_of(found: dict | None, sample: str) -> dict:
    """The median, Q1 and Q3 of `sample` in a row of analytics.sql.grouped."""
    found = found or {}
    return {"median": found.get(f"{sample}_median"), "q1": found.get(f"{sample}_q1"),
            "q3": found.get(f"{sample}_q3")}


def month_of(row: str) -> dt.date:
    """The month a row key "YYYY-MM" names (UnknownBar when it names none)."""
    month = parse_month(row)
    if month is None:
        raise UnknownBar(row)
    return month


def day_text(day: dt.date) -> str:
    """A day as "3 Mar 2025"."""
    return f"{day.day} {day:%b %Y}"


def split_key(row: str, parts: int) -> list[str]:
    """A row key "a:b" in its `parts` parts (UnknownBar when it has not as many)."""
    pieces = row.split(":")
    if len(pieces) != parts:
        raise UnknownBar(row)
    return pieces
