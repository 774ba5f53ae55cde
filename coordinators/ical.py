"""A user's open care tasks as an iCalendar feed (RFC 5545), built with the icalendar package.

Calendars are often synced to outside services, so an event says what and when and links to the
patient by id only: no names, no clinical values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from coordinators.models import CareTask


def task_event(task: CareTask, *, base_url: str, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", f"caretask-{task.external_id}@netcare")
    event.add("dtstamp", stamp)
    event.add("dtstart", task.due)
    event.add("dtend", task.due + dt.timedelta(days=1))
    event.add("summary", f"NETcare: {task.title}")
    window = (f"Window {task.earliest:%d %b %Y} – {task.latest:%d %b %Y}."
              if task.earliest != task.latest else f"On {task.due:%d %b %Y}.")
    event.add("description", f"{window}\n{task.note}".strip())
    event.add("url", f"{base_url}/patients/{task.patient.external_id}/")
    event.add("categories", [task.get_kind_display()])
    event.add("transp", "TRANSPARENT")
    return event


def tasks_calendar(tasks: Iterable[CareTask], *, base_url: str, stamp: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//NETcare//Care tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "NETcare tasks")
    for task in tasks:
        calendar.add_component(task_event(task, base_url=base_url, stamp=stamp))
    return calendar.to_ical()
