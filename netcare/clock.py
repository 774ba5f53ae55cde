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


def past_moment_error(moment, *, what: str) -> str:
    """What is wrong with `moment` as the time something happened ("" when nothing is): it must
    be an aware datetime, not in the future."""
    if not isinstance(moment, dt.datetime):
        return f"Give the date and time {what}."
    if timezone.is_naive(moment):
        return "Give the time with its time zone."
    if moment > timezone.now() + CLOCK_SKEW:
        return f"The time {what} is in the future."
    return ""
