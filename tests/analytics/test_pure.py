"""The pure parts: quartiles as percentile_cont computes them, months, small-count suppression
at its boundary, and the chart's scale. No database."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from analytics.charts import PLOT_X0, PLOT_X1, bar_chart
from analytics.display import hidden_columns, table
from analytics.period import Scope, add_months, months_between, parse_month
from analytics.shapes import Column, Figure, Row, Series
from analytics.stats import money, number, percentile_cont, quartiles


@pytest.mark.parametrize(("values", "expected"), [
    ([], (None, None, None)),
    ([7], (7, 7, 7)),
    ([1, 2], (1.25, 1.5, 1.75)),
    ([3, 5, 15], (4, 5, 10)),
    ([28, 30, 35, 35, 42, 42, 50, 50, 56, 60], (35, 42, 50)),
    ([60, 28, 50, 35, 42, 30, 35, 56, 50, 42], (35, 42, 50)),  # order does not matter
    ([-2, 0, 0, 1, 1], (0, 0, 1)),
])
def test_quartiles_interpolate_between_the_closest_ranks(values, expected):
    assert quartiles(values) == expected


def test_percentiles_at_the_ends():
    assert percentile_cont([1, 2, 3], 0) == 1 and percentile_cont([1, 2, 3], 1) == 3


@pytest.mark.parametrize(("value", "shown"), [(42.0, "42"), (32.5, "32.5"), (6.75, "6.8"),
                                              (-3, "-3"), (None, "—"), (Decimal("4"), "4")])
def test_numbers_as_shown(value, shown):
    assert number(value) == shown


def test_money_as_shown():
    assert money(Decimal("24000")) == "24,000.00" and money(None) == "—"


@pytest.mark.parametrize(("text", "month"), [
    ("2025-03", dt.date(2025, 3, 1)), (" 2025-12 ", dt.date(2025, 12, 1)), ("2025-13", None),
    ("2025-00", None), ("25-03", None), ("2025-3", None), ("", None), (None, None),
    ("0000-01", None)])
def test_months_are_read_as_yyyy_mm(text, month):
    assert parse_month(text) == month


def test_months_across_a_year():
    assert add_months(dt.date(2024, 11, 1), 3) == dt.date(2025, 2, 1)
    assert add_months(dt.date(2025, 1, 1), -1) == dt.date(2024, 12, 1)
    assert months_between(dt.date(2024, 12, 15), dt.date(2025, 2, 1)) == [
        dt.date(2024, 12, 1), dt.date(2025, 1, 1), dt.date(2025, 2, 1)]


def test_a_scope_is_whole_months_in_its_zone():
    london = zoneinfo.ZoneInfo("Europe/London")
    scope = Scope.of_months(centre_id=1, practice_id=None, first=dt.date(2025, 3, 9),
                            last=dt.date(2025, 6, 2), tz=london, today=dt.date(2025, 7, 1))
    assert (scope.first, scope.last) == (dt.date(2025, 3, 1), dt.date(2025, 6, 30))
    assert scope.until == dt.datetime(2025, 7, 1, tzinfo=london)
    assert scope.until.astimezone(dt.UTC) == dt.datetime(2025, 6, 30, 23, 0, tzinfo=dt.UTC)
    assert not scope.suppress


FIGURE = Figure(
    "f", "A figure", "", ("Month",),
    (Column("n", "Cases", parts=("a", "b"), drill=True), Column("a", "A", drill=True),
     Column("b", "B", drill=True), Column("median", "Median", "days", basis="n"),
     Column("cost", "Cost", "money", basis="a")),
    [], (Series("median"),), "days")


@pytest.mark.parametrize(("values", "hidden"), [
    ({"n": 10, "a": 5, "b": 5, "median": 3, "cost": 1}, {}),
    ({"n": 10, "a": 4, "b": 6, "median": 3, "cost": 1},
     {"a": "<5", "n": "not shown", "cost": "not shown"}),
    ({"n": 4, "a": 0, "b": 4, "median": 3, "cost": None},
     {"n": "<5", "b": "<5", "median": "not shown"}),
    ({"n": 1, "a": 1, "b": 0, "median": 3, "cost": 2},
     {"n": "<5", "a": "<5", "median": "not shown", "cost": "not shown"}),
    ({"n": 0, "a": 0, "b": 0, "median": None, "cost": None}, {}),
])
def test_small_counts_of_a_practice_are_suppressed(values, hidden):
    assert hidden_columns(FIGURE, values, suppress=True) == hidden
    assert hidden_columns(FIGURE, values, suppress=False) == {}


def test_the_chart_scales_negative_and_positive_bars_around_zero():
    figure = Figure("f", "Slippage", "", ("Cycle",),
                    (Column("n", "Given", drill=True), Column("median", "Median", "days",
                                                              basis="n")),
                    [Row("1", ("Cycle 1",), {"n": 5, "median": -5}),
                     Row("2", ("Cycle 2",), {"n": 5, "median": 15}),
                     Row("3", ("Cycle 3",), {"n": 0, "median": None})],
                    (Series("median"),), "days")
    chart = bar_chart(table(figure, suppress=False, drills=True),
                      href=lambda row, column: f"/{row}/{column}")
    assert [tick.text for tick in chart.ticks] == ["-5", "0", "5", "10", "15"]
    assert chart.ticks[0].x == PLOT_X0 and chart.ticks[-1].x == PLOT_X1
    one, two, three = (group.bars[0] for group in chart.groups)
    assert one.x + one.width == chart.zero_x and one.text_anchor == "end"
    assert two.x == chart.zero_x and two.x + two.width == PLOT_X1
    assert three.width == 0 and three.text == "—" and three.href is None
    assert one.href == "/1/n"  # a median's bar lists the cases it was computed from
    assert "Slippage: bar chart of median (days) by cycle" in chart.label
