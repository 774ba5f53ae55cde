"""The Jinja2 environment of the fragments rendered in Jinja2 rather than Django's template
language: those repeated for hundreds of rows where rendering was most of a page's time (the
caseload's patient groups). Autoescaped like every template; dates are formatted by Django's own
``date`` filter, days remembered per format (a caseload repeats a few dozen days), and times
shown in a centre's time zone with ``localtime``."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.utils import dateformat
from django.utils.translation import get_language
from jinja2 import Environment


@functools.lru_cache(maxsize=4096)
def _formatted(value: dt.date, format_string: str, language: str | None) -> str:
    return dateformat.format(value, format_string)


def date(value: dt.date | dt.datetime | None, format_string: str) -> str:
    """`value` as Django's ``date`` filter writes it with `format_string` ("" for None). Days
    are remembered; a date and time (equal to the same instant in another zone) is not."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return dateformat.format(value, format_string)
    return _formatted(value, format_string, get_language())


def localtime(value: dt.datetime | None, time_zone: str) -> dt.datetime | None:
    """`value` in the time zone named `time_zone`."""
    return None if value is None else value.astimezone(zoneinfo.ZoneInfo(time_zone))


def environment(**options) -> Environment:
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    env.filters.update(date=date, localtime=localtime)
    return env
