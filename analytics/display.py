"""A figure as shown: every number as text, with small-count suppression for a referring
practice's aggregates. The table, the chart and the CSV all read this one table, so they show
the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.period import SMALL_COUNT
from analytics.shapes import Column, Figure
from analytics.stats import money, number

SUPPRESSED_COUNT = "<5"
SUPPRESSED_STATISTIC = "not shown"
NOTHING = "—"


@dataclass(frozen=True)
class Cell:
    column: Column
    text: str
    value: Any  # the number, None when there is none or it is not shown
    suppressed: bool
    drill: bool  # links to the patients behind it


@dataclass(frozen=True)
class ShownRow:
    key: str
    labels: tuple[str, ...]
    cells: tuple[Cell, ...]
    in_chart: bool

    def cell(self, key: str) -> Cell:
        return next(cell for cell in self.cells if cell.column.key == key)


@dataclass(frozen=True)
class Table:
    figure: Figure
    rows: tuple[ShownRow, ...]
    suppressing: bool

    @property
    def any_suppressed(self) -> bool:
        return any(cell.suppressed for row in self.rows for cell in row.cells)


def _small(value: Any) -> bool:
    return isinstance(value, int) and 0 < value < SMALL_COUNT


def _text(column: Column, value: Any) -> str:
    if value is None:
        return NOTHING
    if column.kind == "money":
        return money(value)
    return number(value)


def hidden_columns(figure: Figure, values: dict[str, Any], suppress: bool) -> dict[str, str]:
    """The columns of one row a referring practice's aggregate does not show, with what shows
    instead: a count from 1 to 4 reads "<5"; a statistic or cost of fewer than 5 cases, and a
    total of which a part is hidden (it would give the part away), read "not shown"."""
    if not suppress:
        return {}
    hidden = {c.key: SUPPRESSED_COUNT for c in figure.columns
              if c.kind == "count" and _small(values.get(c.key))}
    for column in figure.columns:
        if column.key in hidden or values.get(column.key) is None:
            continue
        if column.basis is not None and (values.get(column.basis) or 0) < SMALL_COUNT:
            hidden[column.key] = SUPPRESSED_STATISTIC
        if column.parts and any(part in hidden for part in column.parts):
            hidden[column.key] = SUPPRESSED_STATISTIC
    return hidden


def table(figure: Figure, *, suppress: bool, drills: bool) -> Table:
    """`figure` as shown; `suppress` for a referring practice's aggregates; `drills` when the
    viewer may see patients (the drill-down links)."""
    rows = []
    for row in figure.rows:
        hidden = hidden_columns(figure, row.values, suppress)
        cells = []
        for column in figure.columns:
            value = row.values.get(column.key)
            if column.key in hidden:
                cells.append(Cell(column, hidden[column.key], None, True, False))
                continue
            links = drills and figure.drills and column.drill and bool(value)
            cells.append(Cell(column, _text(column, value), value, False, links))
        rows.append(ShownRow(row.key, row.labels, tuple(cells), row.in_chart))
    return Table(figure, tuple(rows), suppress)


def csv_rows(shown: Table) -> list[list[str]]:
    """The table as CSV rows: a header, then one line per row, the numbers as shown."""
    figure = shown.figure
    header = [*figure.dimensions, *(column.label for column in figure.columns)]
    return [header, *([*row.labels, *(cell.text for cell in row.cells)] for row in shown.rows)]
