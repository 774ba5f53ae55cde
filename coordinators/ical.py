"""A user's open care tasks as an iCalendar feed (RFC 5545), built with the icalendar package.

Every event carries the task's own dates, the one plan every page shows: a task with an
appointment (``appointment_at``) is a timed event at that moment (in UTC), at its place; any
other task is an all-day event on its due day. A snoozed task stays on its due day: snoozing
holds reminders, it does not move the plan.

Calendars are often synced to outside services, so an event says what and when and links to the
patient by id only: no names, no clinical values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from coordinators.models import CareTask
from netcare.clock import local_date

APPOINTMENT_LENGTH = dt.timedelta(hours=1)


def _window(task: CareTask) -> str:
    if task.earliest != task.latest:
        return (f"Due {task.due:%d %b %Y}; window {task.earliest:%d %b %Y} – "
                f"{task.latest:%d %b %Y}.")
    return f"On {task.due:%d %b %Y}."


def task_event(task: CareTask, *, base_url: str, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", f"caretask-{task.external_id}@netcare")
    event.add("dtstamp", stamp)
    lines = [_window(task)]
    if task.appointment_at is not None:
        start = task.appointment_at.astimezone(dt.UTC)
        event.add("dtstart", start)
        event.add("dtend", start + APPOINTMENT_LENGTH)
        if task.appointment_place:
            event.add("location", task.appointment_place)
        event.add("transp", "OPAQUE")
    else:
        event.add("dtstart", task.due)
        event.add("dtend", task.due + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    if task.snoozed_until is not None \
            and task.snoozed_until > local_date(stamp, task.course.centre):
        lines.append(f"Snoozed until {task.snoozed_until:%d %b %Y}.")
    if task.note:
        lines.append(task.note)
    event.add("summary", f"NETcare: {task.title}")
    event.add("description", "\n".join(lines))
    event.add("url", f"{base_url}/patients/{task.patient.external_id}/")
    event.add("categories", [task.get_kind_display()])
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
