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
