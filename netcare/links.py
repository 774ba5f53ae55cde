"""URLs of rows: one ``reverse`` per page, not one per row (a list of 200 results would otherwise
resolve the same pattern 200 times)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.urls import reverse

_PLACEHOLDERS = tuple(uuid.UUID(int=n) for n in range(1, 4))


def url_maker(name: str, arity: int = 1) -> Callable[..., str]:
    """A function from `arity` public ids to the URL of `name`, as ``reverse(name, args=ids)``
    gives it."""
    placeholders = _PLACEHOLDERS[:arity]
    pattern = reverse(name, args=placeholders)
    parts = [pattern]
    for placeholder in placeholders:
        head, tail = parts.pop().split(str(placeholder), 1)
        parts += [head, tail]

    def url(*ids) -> str:
        pieces = [parts[0]]
        for external_id, part in zip(ids, parts[1:], strict=True):
            pieces += [str(external_id), part]
        return "".join(pieces)

    return url
