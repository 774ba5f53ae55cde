"""The Jinja2 environment of the fragments rendered in Jinja2 rather than Django's template
language: those whose rows repeat, where rendering was much of a page's time (the caseload's
patient groups, the patient page's body). Autoescaped like every template, and strict about
names in every mode (a missing one renders empty, an operation on it fails). Dates are formatted
by Django's own ``date`` filter, days remembered per format (a caseload repeats a few dozen
days); times are shown in a time zone with ``localtime``; ``url`` reverses a URL name;
``django_template`` renders a Django template (a form) in place, with the page's request."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from jinja2 import Environment, Undefined, pass_context

from netcare.numbers import plain


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


def localtime(value: dt.datetime | None, time_zone: str | dt.tzinfo | None = None
              ) -> dt.datetime | None:
    """`value` in the time zone `time_zone` (its name, or the zone itself; None: the current
    time zone, as Django's templates show a time outside ``{% timezone %}``)."""
    if value is None:
        return None
    if time_zone is None:
        return timezone.localtime(value)
    if isinstance(time_zone, str):
        time_zone = zoneinfo.ZoneInfo(time_zone)
    return value.astimezone(time_zone)


def url(name: str, *args) -> str:
    return reverse(name, args=args)


@pass_context
def django_template(context, template_name: str, **extra) -> str:
    """The Django template `template_name` rendered with this page's context, `extra` and its
    request (for the CSRF token)."""
    return mark_safe(render_to_string(  # noqa: S308 - a Django template, autoescaped
        template_name, {**context.get_all(), **extra}, request=context.get("request")))


def render_fragment(template_name: str, context: dict, request=None) -> str:
    """The Jinja2 template `template_name` rendered with `context`, as safe HTML for a page in
    Django's template language (autoescaped here)."""
    return mark_safe(render_to_string(  # noqa: S308 - autoescaped by this environment
        template_name, context, request=request, using="jinja2"))


def environment(**options) -> Environment:
    options.pop("autoescape", None)
    options["undefined"] = Undefined  # not DebugUndefined: the same page in every mode
    env = Environment(autoescape=True, **options)
    env.filters.update(date=date, localtime=localtime, linebreaksbr=linebreaksbr, plain=plain)
    env.globals.update(url=url, django_template=django_template)
    return env
