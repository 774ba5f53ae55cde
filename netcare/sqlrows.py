"""Reads written in SQL for the pages that must stay near their bare SQL (the caseload): the rows
come back with each column converted as the ORM converts that model field on this database
(dates, times and UUIDs are text on SQLite, JSON is text on both), so the code above sees the
same Python values whichever database runs."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.models import Field, Model, Q


def converters(fields: Sequence[Field | None], *, using: str = "default") -> list:
    """For each column, (expression, converters) of its model field; None for a column to keep
    as the driver returns it (counts, booleans computed in SQL)."""
    connection = connections[using]
    result = []
    for field in fields:
        if field is None:
            result.append(None)
            continue
        # The field's own column, as a queryset reads it (on SQLite a decimal then keeps its
        # field's places).
        expression = field.get_col(field.model._meta.db_table)
        found = [*connection.ops.get_db_converters(expression),
                 *expression.get_db_converters(connection)]
        result.append((expression, found) if found else None)
    return result


def fetch(sql: str, params: Sequence, fields: Sequence[Field | None], *,
          using: str = "default") -> list[tuple]:
    """The rows of `sql` (``%s`` placeholders), each column converted for its field in `fields`
    (None: as it comes)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    plan = [(index, expression, found)
            for index, entry in enumerate(converters(fields, using=using)) if entry
            for expression, found in [entry]]
    if not plan:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, expression, found in plan:
            value = values[index]
            if value is not None:
                for convert in found:
                    value = convert(value, expression, connection)
            values[index] = value
        converted.append(tuple(values))
    return converted


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
