"""The database side of the figures: intervals as SQL expressions and grouped counts and
quartiles in a constant number of queries. On PostgreSQL the quartiles are its
``percentile_cont``; elsewhere (the embedded SQLite run) the intervals are fetched as one
values_list and their quartiles computed in Python (analytics.stats), the same way."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    Expression,
    F,
    Field,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Greatest, NullIf, TruncDate, TruncMonth

from analytics.period import month_key, month_label
from analytics.shapes import Row
from analytics.stats import quartiles


class DaysBetween(Func):
    """Whole days from the date `start` to the date `end` (negative when `end` is earlier)."""

    output_field = IntegerField()
    arg_joiner = " - "
    template = "(%(expressions)s)"

    def __init__(self, end, start, **extra) -> None:
        super().__init__(end, start, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra_context)


class HoursBetween(Func):
    """Hours (with their fraction) from the moment `start` to the moment `end`."""

    output_field = FloatField()
    arg_joiner = " - "
    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)"

    def __init__(self, end, start, **extra) -> None:
        super().__init__(end, start, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection,
                           template="((julianday(%(expressions)s)) * 24.0)",
                           arg_joiner=") - julianday(", **extra_context)


class Quartiles(Aggregate):
    """PostgreSQL's ``percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY x)``: the
    first quartile, the median and the third quartile of `x` at once (an array; NULL when
    there is no value)."""

    function = "percentile_cont"
    name = "Quartiles"
    template = "%(function)s(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = Field()  # psycopg reads the array as a list of floats


def local_day(field, tz: zoneinfo.ZoneInfo) -> TruncDate:
    """The calendar day of the moment `field` in `tz`."""
    return TruncDate(field, tzinfo=tz)


def local_month(field, tz: zoneinfo.ZoneInfo | None = None) -> TruncMonth:
    """The first day of the month of the moment (with `tz`) or day (without) `field`."""
    if tz is None:
        return TruncMonth(field, output_field=DateField())
    return TruncMonth(local_day(field, tz), output_field=DateField())


def day_value(day: dt.date) -> Value:
    return Value(day, output_field=DateField())


def not_negative(expression: Expression) -> NullIf:
    """`expression`, or NULL when it is negative (an interval whose end is recorded before its
    start is left out rather than counted backwards). Written so that `expression` appears once
    in the SQL: NULLIF(GREATEST(x, -1), -1)."""
    return NullIf(Greatest(expression, Value(-1)), Value(-1),
                  output_field=expression.output_field)


def use_percentile_cont(alias: str) -> bool:
    """Whether the database `alias` computes the quartiles itself."""
    return connections[alias].vendor == "postgresql"


def grouped(queryset: QuerySet, *, group: Sequence[str],
            samples: Mapping[str, Expression] | None = None,
            counts: Mapping[str, Aggregate] | None = None) -> dict[tuple, dict[str, Any]]:
    """Per value of the fields or annotations `group` (a tuple key): each of `counts`, and for
    each sample expression the number of its values (``<name>_n``; NULLs are not values) and
    their quartiles (``<name>_q1``, ``<name>_median``, ``<name>_q3``).

    One query on PostgreSQL; elsewhere two (the samples as one values_list)."""
    samples = dict(samples or {})
    aggregates: dict[str, Aggregate] = dict(counts or {})
    annotated = queryset.annotate(**{f"sample_{name}": value for name, value in samples.items()})
    in_database = use_percentile_cont(queryset.db)
    for name in samples:
        aggregates[f"{name}_n"] = Count(f"sample_{name}")
        if in_database:
            aggregates[f"{name}_quartiles"] = Quartiles(F(f"sample_{name}"))
    rows = {tuple(row[g] for g in group): row
            for row in annotated.values(*group).annotate(**aggregates).order_by(*group)}
    if in_database:
        for row in rows.values():
            for name in samples:
                q1, median, q3 = row.pop(f"{name}_quartiles") or (None, None, None)
                row.update({f"{name}_q1": q1, f"{name}_median": median, f"{name}_q3": q3})
    if samples and not in_database:
        collected: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        names = list(samples)
        for values in annotated.values_list(*group, *[f"sample_{n}" for n in names]):
            key, found = tuple(values[:len(group)]), values[len(group):]
            for name, value in zip(names, found, strict=True):
                if value is not None:
                    collected[key][name].append(float(value))
        for key, row in rows.items():
            for name in names:
                q1, median, q3 = quartiles(collected[key][name])
                row.update({f"{name}_q1": q1, f"{name}_median": median, f"{name}_q3": q3})
    return rows


def monthly_counts(queryset: QuerySet, months: Sequence[dt.date],
                   conditions: Mapping[str, Q]) -> list[Row]:
    """One row per month of `months`: the rows of `queryset` (annotated with its ``month``) in
    that month (``n``) and those meeting each of `conditions`, zero where there are none."""
    found = grouped(queryset, group=("month",),
                    counts={"n": Count("pk"), **{name: Count("pk", filter=condition)
                                                 for name, condition in conditions.items()}})
    return [Row(month_key(month), (month_label(month),),
                {key: found.get((month,), {}).get(key, 0) for key in ("n", *conditions)})
            for month in months]
