"""One "today" for NETcare: dates are a centre's local dates.

Every clinical decision, plan and page asks here. A centre's day runs in its own time zone
(``Centre.time_zone``), whatever the server's; a user's day is their centre's (a user without a
centre, an administrator, lives in the server's time zone).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone


def centre_zone(centre) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(centre.time_zone)


def local_date(moment: dt.datetime, centre) -> dt.date:
    """The centre's calendar day of `moment`."""
    return moment.astimezone(centre_zone(centre)).date()


def centre_today(centre) -> dt.date:
    """Today at the centre."""
    return local_date(timezone.now(), centre)


def user_today(user) -> dt.date:
    """Today for `user`: their centre's day, or the server's for a user without a centre."""
    centre = getattr(user, "centre", None)
    if centre is None:
        return timezone.localdate()
    return centre_today(centre)


# Devices' clocks differ by a little: a time this far ahead still counts as "now".
CLOCK_SKEW = dt.timedelta(minutes=5)

# The dates NETcare accepts, on the pages and through the API alike: nothing before 1900; what
# happened (a birth, a lab, a scan, an infusion) not after today; what is planned (a first dose,
# a booking, an appointment, a snooze) at most PLAN_HORIZON_YEARS ahead, which also keeps every
# date the plan derives from it (cycles 8 weeks apart, the follow-up) far inside the calendar.
EARLIEST_DATE = dt.date(1900, 1, 1)
EARLIEST_MOMENT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
PLAN_HORIZON_YEARS = 2


def plan_horizon(today: dt.date) -> dt.date:
    """The last day a plan may be made for: PLAN_HORIZON_YEARS after `today`."""
    try:
        return today.replace(year=today.year + PLAN_HORIZON_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + PLAN_HORIZON_YEARS, day=28)


def plan_date_error(day, *, today: dt.date, what: str = "The date") -> str:
    """What is wrong with `day` as a planned day ("" when nothing is): from 1900 to
    PLAN_HORIZON_YEARS after `today`. Whether it may be in the past is for the caller."""
    if not isinstance(day, dt.date):
        return f"{what} is missing."
    day = day.date() if isinstance(day, dt.datetime) else day
    if day < EARLIEST_DATE:
        return f"{what} is before {EARLIEST_DATE:%d %b %Y}."
    last = plan_horizon(today)
    if day > last:
        return f"{what} is more than {PLAN_HORIZON_YEARS} years ahead (after {last:%d %b %Y})."
    return ""


def past_date_error(day, *, today: dt.date, what: str = "The date") -> str:
    """What is wrong with `day` as the day something happened ("" when nothing is): from 1900
    to `today`."""
    if not isinstance(day, dt.date):
        return f"{what} is missing."
    day = day.date() if isinstance(day, dt.datetime) else day
    if day < EARLIEST_DATE:
        return f"{what} is before {EARLIEST_DATE:%d %b %Y}."
    if day > today:
        return f"{what} is in the future."
    return ""


def past_moment_error(moment, *, what: str) -> str:
    """What is wrong with `moment` as the time something happened ("" when nothing is): it must
    be an aware datetime, from 1900, not in the future."""
    if not isinstance(moment, dt.datetime):
        return f"Give the date and time {what}."
    if timezone.is_naive(moment):
        return "Give the time with its time zone."
    if moment > timezone.now() + CLOCK_SKEW:
        return f"The time {what} is in the future."
    if moment < EARLIEST_MOMENT:
        return f"The time {what} is before {EARLIEST_DATE:%d %b %Y}."
    return ""
