"""Query-count checks for the tests: a fixed number of queries for a block of code, or the same
number before and after the data grows. A failure lists every SQL statement executed, numbered,
so the extra (or missing) query can be read off the test report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

T = TypeVar("T")


def format_queries(queries: list[dict]) -> str:
    """The captured statements, one a line, numbered from 1."""
    if not queries:
        return "    (none)"
    width = len(str(len(queries)))
    return "\n".join(f"    {i:>{width}}. {query['sql']}" for i, query in enumerate(queries, 1))


def _plural(count: int) -> str:
    return f"{count} {'query' if count == 1 else 'queries'}"


class _ExactQueries(CaptureQueriesContext):
    def __init__(self, expected: int, connection) -> None:
        super().__init__(connection)
        self.expected = expected

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        __tracebackhide__ = True
        super().__exit__(exc_type, exc_value, traceback)
        if exc_type is None and len(self) != self.expected:
            raise AssertionError(f"Expected {_plural(self.expected)}, {len(self)} executed:\n"
                                 f"{format_queries(self.captured_queries)}")


def assert_queries(expected: int, *, using: str = DEFAULT_DB_ALIAS) -> CaptureQueriesContext:
    """A context manager: the block runs exactly `expected` queries on the database `using`
    (not checked when the block raises)."""
    return _ExactQueries(expected, connections[using])


def _capture(run: Callable[[], T], using: str) -> tuple[T, list[dict]]:
    with CaptureQueriesContext(connections[using]) as captured:
        result = run()
    return result, captured.captured_queries


def assert_constant_queries(run: Callable[[], T], *, grow: Callable[[], object],
                            using: str = DEFAULT_DB_ALIAS) -> T:
    """`run()` runs as many queries after `grow()` has added data as before it. Returns what the
    second `run()` returned."""
    __tracebackhide__ = True
    _, before = _capture(run, using)
    grow()
    result, after = _capture(run, using)
    if len(before) != len(after):
        raise AssertionError("\n".join([
            f"The number of queries changed as the data grew: {len(before)} before, "
            f"{len(after)} after.",
            f"Before ({_plural(len(before))}):", format_queries(before),
            f"After ({_plural(len(after))}):", format_queries(after),
        ]))
    return result
