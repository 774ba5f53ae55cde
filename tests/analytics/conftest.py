"""Fixtures of the analytics tests: the history builder, the clock, and the scope of a
period."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import sql
from analytics.period import Scope
from tests.analytics.history import TZ, History

TODAY = dt.date(2025, 7, 15)


@pytest.fixture
def now(time_machine):
    """Mid-July 2025, 10:00 in London: the period January-June 2025 lies in the past."""
    time_machine.move_to(dt.datetime(2025, 7, 15, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def history(now, centre, specialist, navigator):
    return History(centre=centre, specialist=specialist, navigator=navigator)


@pytest.fixture
def elsewhere(now, other_centre, outside_specialist, outside_navigator):
    """The same builder at another centre."""
    return History(centre=other_centre, specialist=outside_specialist,
                   navigator=outside_navigator)


def scope_of(centre, *, first=dt.date(2025, 1, 1), last=dt.date(2025, 6, 1), practice=None,
             today=TODAY) -> Scope:
    """January to June 2025 (by default) at `centre`, optionally for one practice."""
    return Scope.of_months(centre_id=centre.pk if centre else None,
                           practice_id=practice.pk if practice else None, first=first,
                           last=last, tz=TZ, today=today)


@pytest.fixture(params=["database", "python"])
def quartiles_in(request, monkeypatch):
    """Each figure with quartiles twice: PostgreSQL's percentile_cont, and the Python quartiles
    of the embedded SQLite run over the same rows."""
    if request.param == "python":
        monkeypatch.setattr(sql, "use_percentile_cont", lambda alias: False)
    return request.param
