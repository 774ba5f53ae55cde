"""Template filters of the MDT pages and PDFs."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def isoday(value) -> dt.date | str:
    """A day stored as ISO text in a case summary ("2025-03-03"), as a date to format; anything
    else unchanged."""
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return value
