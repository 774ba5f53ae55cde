"""Reads written in SQL for the pages that must stay near their bare SQL (the caseload, the
patient page): the rows
come back with each column converted as the ORM converts that model field on this database
(dates, times and UUIDs are text on SQLite, JSON is text on both), so the code above sees the
same Python values whichever database runs."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.models import Field, Model, Q


def conversions(fields: Sequence[Field | None], *, using: str = "default") -> list[tuple]:
    """(position, column, converters) of each column of `fields` that the database returns
    otherwise than its model field holds it, as a queryset converts it: the field's own column,
    so that on SQLite a decimal keeps its places. None in `fields`: a column kept as the driver
    returns it (counts, flags computed in SQL)."""
    connection = connections[using]
    plan = []
    for index, field in enumerate(fields):
        if field is None:
            continue
        column = field.get_col(field.model._meta.db_table)
        found = [*connection.ops.get_db_converters(column),
                 *column.get_db_converters(connection)]
        if found:
            plan.append((index, column, found))
    return plan


def convert(values: Sequence, plan: list[tuple], *, using: str = "default") -> list:
    """One row's `values` converted by `plan` (:func:`conversions`)."""
    connection = connections[using]
    values = list(values)
    for index, column, found in plan:
        value = values[index]
        if value is not None:
            for converter in found:
                value = converter(value, column, connection)
            values[index] = value
    return values


def fetch(sql: str, params: Sequence, fields: Sequence[Field | None], *,
          using: str = "default") -> list[tuple]:
    """The rows of `sql` (``%s`` placeholders), each column converted for its field in `fields`
    (None: as it comes)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    plan = conversions(fields, using=using)
    if not plan:
        return rows
    return [tuple(convert(row, plan, using=using)) for row in rows]


def date_param(value, *, using: str = "default"):
    """A date as a parameter of a read written in SQL on this database."""
    return connections[using].ops.adapt_datefield_value(value)


def datetime_param(value, *, using: str = "default"):
    """An aware date and time as a parameter of a read written in SQL on this database."""
    return connections[using].ops.adapt_datetimefield_value(value)


def where_sql(model: type[Model], condition: Q, *, using: str = "default") -> tuple[str, list]:
    """`condition` on `model` as the ORM writes it on this database (columns written
    ``"table"."column"``), with its parameters."""
    query = model._default_manager.filter(condition).query
    compiler = query.get_compiler(using=using)
    sql, params = query.where.as_sql(compiler, connections[using])
    return sql, list(params)


def in_list(values: Sequence) -> str:
    """``(%s, %s, ...)`` for `values` (at least one)."""
    return f"({', '.join(['%s'] * len(values))})"
