"""The Jinja2 environment of the fragments repeated for every row (netcare/jinja2.py): escaped
like every template, and dates written exactly as Django's ``date`` filter writes them."""

import datetime as dt
import zoneinfo

from django.template import engines
from django.template.defaultfilters import date as django_date

from netcare import jinja2


def render(source: str, **context) -> str:
    return engines["jinja2"].from_string(source).render(context)


def test_values_are_escaped():
    assert render("{{ name }}", name="<b>O'Brien</b> & co") == (
        "&lt;b&gt;O&#39;Brien&lt;/b&gt; &amp; co")


def test_dates_as_djangos_date_filter_writes_them():
    for day in (dt.date(2026, 1, 5), dt.date(2026, 9, 30), dt.date(2028, 2, 29)):
        for fmt in ("D j M", "j M", "D j M Y", "j M Y"):
            assert jinja2.date(day, fmt) == django_date(day, fmt)
            assert render("{{ d|date(f) }}", d=day, f=fmt) == django_date(day, fmt)
    assert jinja2.date(None, "j M") == ""


def test_a_time_is_shown_in_the_zone_asked_for_every_time():
    """One instant in two zones: equal datetimes, two different wall times (never the first
    one's remembered text)."""
    instant = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # London's clocks go forward at 1
    london = jinja2.localtime(instant, "Europe/London")
    new_york = jinja2.localtime(instant, "America/New_York")
    assert london == new_york
    assert jinja2.date(london, "D j M Y H:i") == "Sun 29 Mar 2026 00:30"
    assert jinja2.date(new_york, "D j M Y H:i") == "Sat 28 Mar 2026 20:30"
    assert jinja2.date(new_york, "c") == "2026-03-28T20:30:00-04:00"
    later = jinja2.localtime(instant + dt.timedelta(hours=1), "Europe/London")
    assert jinja2.date(later, "H:i") == "02:30"  # after the change: BST
    assert later.tzinfo == zoneinfo.ZoneInfo("Europe/London")
    assert jinja2.localtime(None, "Europe/London") is None
