"""What a figure is computed for: a specialist centre (or every centre, for a referring
practice's own view), a period of whole months in the local time zone, and optionally one
referring practice. Pure: no database."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from django.db.models import Q

# A referring practice's aggregates show no count of patients below this (small-count
# suppression): 1 to 4 read "<5", and statistics of fewer cases are not shown.
SMALL_COUNT = 5
MAX_MONTHS = 60


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None) -> dt.date | None:
    """The first day of the month "YYYY-MM" names, or None when it names none."""
    match = MONTH.match((text or "").strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        return None
    return dt.date(int(match[1]), int(match[2]), 1)


def month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def month_label(month: dt.date) -> str:
    return f"{month:%b %Y}"


@dataclass(frozen=True)
class Scope:
    """The records a figure counts. `centre_id` None means every centre (a referring practice
    looking at its own patients, wherever they were treated); `practice_id` narrows to the
    patients referred by one referring practice's oncologists. Months run from `first` (the
    first day of the first month) to `last` (the last day of the last month) in `tz`; `today`
    is that zone's today (what is still open is counted up to it)."""

    centre_id: int | None
    practice_id: int | None
    first: dt.date
    last: dt.date
    tz: zoneinfo.ZoneInfo
    today: dt.date

    @classmethod
    def of_months(cls, *, centre_id: int | None, practice_id: int | None, first: dt.date,
                  last: dt.date, tz: zoneinfo.ZoneInfo, today: dt.date) -> Scope:
        """From the first month to the last month, whole months."""
        return cls(centre_id=centre_id, practice_id=practice_id, first=month_start(first),
                   last=add_months(month_start(last), 1) - dt.timedelta(days=1), tz=tz,
                   today=today)

    @property
    def since(self) -> dt.datetime:
        """The period's first moment."""
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=self.tz)

    @property
    def until(self) -> dt.datetime:
        """The moment after the period (its end, excluded)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.first, self.last)

    @property
    def suppress(self) -> bool:
        """Aggregates of one referring practice hide small counts."""
        return self.practice_id is not None

    def patients(self, path: str) -> Q:
        """The rows whose patient (reached through `path`, "" for Patient) is in scope."""
        prefix = f"{path}__" if path else ""
        condition = Q()
        if self.centre_id is not None:
            condition &= Q(**{f"{prefix}centre_id": self.centre_id})
        if self.practice_id is not None:
            condition &= Q(**{f"{prefix}referring_oncologist__centre_id": self.practice_id})
        return condition

    def during(self, field: str) -> Q:
        """`field` (a moment) falls in the period."""
        return Q(**{f"{field}__gte": self.since, f"{field}__lt": self.until})

    def during_days(self, field: str) -> Q:
        """`field` (a day) falls in the period."""
        return Q(**{f"{field}__gte": self.first, f"{field}__lte": self.last})
