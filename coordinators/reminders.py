"""Reminders: what should be sent to whom and when, and the one way a reminder changes state.

:func:`reminders_sync` turns a course's open tasks and infusions into Reminder rows (keyed, so
creating one twice is impossible), moving unsent ones whose time changed and cancelling the ones
no longer called for; :func:`digests_schedule` creates the navigators' morning digests. The
sweep and the send are in :mod:`coordinators.delivery`.

Every change of a reminder's state goes through :func:`reminders_set_state`, a compare-and-set
``UPDATE … WHERE state IN (…)``: a reminder being sent right now is never moved or cancelled
under the sender, and two sweeps never both claim it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from coordinators.models import (
    CareTask,
    Channel,
    OwnerParty,
    Reminder,
    ReminderKind,
    ReminderState,
    TaskKind,
    TaskState,
)
from netcare.clock import local_date
from netcare.models import Role, User
from netcare.notifications import centre_navigators
from prrt.clinical import rules_config
from prrt.models import Administration, TreatmentCourse


def reminders_set_state(ids: Iterable[int], *, source: Sequence[str], target: str,
                        **fields: Any) -> int:
    """Move the reminders `ids` that are still in one of the `source` states to `target` (with
    `fields`), in one conditional UPDATE; returns how many moved. A row that another process
    moved first is left alone: the caller sees it in the count."""
    return Reminder.objects.filter(pk__in=list(ids), state__in=list(source)).update(
        state=target, **fields)


def _days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


_PATIENT_APPOINTMENT_KINDS = (TaskKind.PRE_DOSE_LABS, TaskKind.POST_COURSE_LABS,
                              TaskKind.LAR_MAINTENANCE)


@dataclass(frozen=True)
class ReminderSpec:
    key: str
    kind: str
    channel: str
    send_at: dt.datetime
    recipient_user_id: int | None = None
    recipient_patient_id: int | None = None
    task_id: int | None = None
    payload: dict = dataclasses.field(default_factory=dict)


def _at_reminder_hour(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(settings.NETCARE_REMINDER_HOUR), tzinfo=tz)


def task_owner_users(task: CareTask, navigators: Sequence) -> list:
    """The people who hold a task: its named user, the centre's navigators, or the patient's
    oncologist near home (the primary oncologist when there is one, else the referrer)."""
    if task.owner_party == OwnerParty.USER:
        return [task.owner_user] if task.owner_user is not None else []
    if task.owner_party == OwnerParty.CENTRE:
        return list(navigators)
    patient = task.patient
    return [patient.primary_oncologist or patient.referring_oncologist]


def _wanted_reminders(course: TreatmentCourse, tasks: Sequence[CareTask], *, today: dt.date,
                      now: dt.datetime) -> dict[str, ReminderSpec]:
    tz = zoneinfo.ZoneInfo(course.centre.time_zone)
    patient = course.patient
    navigators = centre_navigators(course.centre_id)
    lead = settings.NETCARE_TASK_REMINDER_DAYS_BEFORE
    wanted: dict[str, ReminderSpec] = {}

    def want(spec: ReminderSpec) -> None:
        wanted[spec.key] = spec

    patient_channels = []
    if patient.reminder_consent:
        if patient.email:
            patient_channels.append(Channel.EMAIL)
        if patient.phone:
            patient_channels.append(Channel.SMS)

    for task in tasks:
        if task.state != TaskState.OPEN:
            continue
        snoozed = task.snoozed_until
        recipients = {u.pk: u for u in [*navigators, *task_owner_users(task, navigators)]
                      if u is not None and u.is_active and u.email}
        due_day = max(_days(task.due, -lead), snoozed) if snoozed else _days(task.due, -lead)
        overdue_day = _days(task.due, 1)
        if snoozed:
            overdue_day = max(overdue_day, snoozed)
        for user in recipients.values():
            if task.due >= today and due_day <= task.due:
                want(ReminderSpec(f"task:{task.pk}:due:u{user.pk}:email", ReminderKind.TASK_DUE,
                                  Channel.EMAIL, _at_reminder_hour(due_day, tz),
                                  recipient_user_id=user.pk, task_id=task.pk))
            want(ReminderSpec(f"task:{task.pk}:overdue:u{user.pk}:email",
                              ReminderKind.TASK_OVERDUE, Channel.EMAIL,
                              _at_reminder_hour(overdue_day, tz), recipient_user_id=user.pk,
                              task_id=task.pk))
        if task.kind in _PATIENT_APPOINTMENT_KINDS:
            send_at = _at_reminder_hour(
                _days(task.due, -settings.NETCARE_PATIENT_REMINDER_DAYS_BEFORE), tz)
            if send_at >= now:
                for channel in patient_channels:
                    want(ReminderSpec(f"appt:{task.pk}:p{patient.pk}:{channel}",
                                      ReminderKind.APPOINTMENT, channel, send_at,
                                      recipient_patient_id=patient.pk, task_id=task.pk))

    if patient_channels:
        days = rules_config(course.centre).precaution_days
        for administration in Administration.objects.filter(cycle__course=course).select_related(
                "cycle"):
            given = local_date(administration.administered_at, course.centre)
            number = administration.cycle.number
            for day in range(1, days + 1):
                when = _days(given, day)
                if when < today:
                    continue
                for channel in patient_channels:
                    want(ReminderSpec(
                        f"prec:{course.pk}:c{number}:d{day}:{channel}", ReminderKind.PRECAUTIONS,
                        channel, _at_reminder_hour(when, tz), recipient_patient_id=patient.pk,
                        payload={"cycle": number, "day": day, "days": days,
                                 "last_day": _days(given, days).isoformat()}))
    return wanted


def reminders_sync(course: TreatmentCourse, *, today: dt.date) -> tuple[int, int, int]:
    """Create the reminders the course's open tasks and infusions call for, move unsent ones
    whose time changed, cancel unsent ones no longer called for. Sent and failed ones never
    change; keys make creation idempotent."""
    now = timezone.now()
    tasks = list(CareTask.objects.filter(course=course).select_related(
        "owner_user", "patient__referring_oncologist", "patient__primary_oncologist"))
    wanted = _wanted_reminders(course, tasks, today=today, now=now)
    # No row locks here: every change is a conditional UPDATE (state still pending/cancelled),
    # which PostgreSQL re-checks after waiting for a send in progress, so a reminder being sent
    # right now is never moved or cancelled under it. Syncs of one course are serialised by the
    # caller's lock on the course.
    existing = {r.key: r for r in Reminder.objects.filter(course=course).only(
        "pk", "key", "state", "send_at", "payload")}
    created, moved, cancelled = [], 0, 0
    for key, spec in wanted.items():
        reminder = existing.get(key)
        if reminder is None:
            created.append(Reminder(
                key=key, kind=spec.kind, channel=spec.channel, send_at=spec.send_at,
                recipient_user_id=spec.recipient_user_id,
                recipient_patient_id=spec.recipient_patient_id, task_id=spec.task_id,
                course=course, payload=spec.payload))
        elif reminder.state == ReminderState.CANCELLED or (
                reminder.state == ReminderState.PENDING
                and (reminder.send_at != spec.send_at or reminder.payload != spec.payload)):
            moved += reminders_set_state(
                [reminder.pk], source=(ReminderState.PENDING, ReminderState.CANCELLED),
                target=ReminderState.PENDING, send_at=spec.send_at, payload=spec.payload,
                last_error="")
    Reminder.objects.bulk_create(created, ignore_conflicts=True)
    stale = [r.pk for key, r in existing.items()
             if key not in wanted and r.state == ReminderState.PENDING]
    if stale:
        cancelled = reminders_set_state(stale, source=(ReminderState.PENDING,),
                                        target=ReminderState.CANCELLED, claimed_until=None,
                                        last_error="No longer needed.")
    return len(created), moved, cancelled


def digests_schedule(*, now: dt.datetime | None = None) -> int:
    """Create today's morning digest for every navigator whose centre's morning has come (from
    ``NETCARE_DIGEST_HOUR`` until noon, local time); one per navigator and day, by its key."""
    now = now or timezone.now()
    digests = []
    for user in User.objects.filter(role=Role.NAVIGATOR, is_active=True,
                                    centre__kind="specialist_centre").exclude(email="") \
            .select_related("centre"):
        local = now.astimezone(zoneinfo.ZoneInfo(user.centre.time_zone))
        if not settings.NETCARE_DIGEST_HOUR <= local.hour < 12:
            continue
        digests.append(Reminder(key=f"digest:u{user.pk}:{local.date().isoformat()}",
                                kind=ReminderKind.DIGEST, channel=Channel.EMAIL, send_at=now,
                                recipient_user=user, payload={"day": local.date().isoformat()}))
    Reminder.objects.bulk_create(digests, ignore_conflicts=True)
    return len(digests)


