"""Use cases of the coordination side: notifying people, the care plan as tasks, reminders.

- :func:`plan_sync` materialises a course's plan (``prrt.rules.course_plan``) as CareTasks and
  keeps them and their reminders in step with it; prrt.services calls it on commit whenever the
  plan changes.
- Task verbs (:func:`task_complete`, :func:`task_skip`, :func:`task_reassign`,
  :func:`task_snooze`) lock the task, check the actor may act on its patient, audit, and re-sync
  the task's reminders.
- Reminders: the database is the queue. :func:`reminders_sweep` claims due rows with a lease and
  enqueues one send each; :func:`reminder_send` checks and marks one row in one transaction.
  Nothing in the future is ever given to Celery as an ETA or countdown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from coordinators.models import (
    LAB_TASK_KINDS,
    CareTask,
    Channel,
    Notification,
    OwnerParty,
    Reminder,
    ReminderKind,
    ReminderState,
    TaskKind,
    TaskState,
)
from coordinators.sms import SmsError, send_sms
from netcare import audit
from netcare.models import Role
from netcare.workflow import Step, TransitionForbidden, TransitionInvalid, run_transition
from prrt import clinical, rules
from prrt.models import (
    Administration,
    CourseState,
    CycleDecision,
    CycleState,
    Responsible,
    TreatmentCourse,
)

logger = logging.getLogger(__name__)


def notify(*, recipients: Iterable, subject: str, body: str, url: str = "") -> list[Notification]:
    """Create in-app notifications and email each recipient once the transaction commits."""
    from coordinators import tasks

    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
    created = Notification.objects.bulk_create(
        [Notification(recipient=user, subject=subject, body=body, url=url)
         for user in unique.values()]
    )
    for notification in created:
        transaction.on_commit(
            lambda pk=notification.pk: tasks.email_notification.delay(notification_id=pk)
        )
    return created


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's email at most once; True when this call sent it."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update().select_related("recipient")
                        .filter(pk=notification_id, emailed_at__isnull=True).first())
        if notification is None or not notification.recipient.email:
            return False
        context = {"notification": notification, "user": notification.recipient,
                   "base_url": settings.NETCARE_BASE_URL}
        message = EmailMultiAlternatives(
            subject=render_to_string("emails/notification_subject.txt", context).strip(),
            body=render_to_string("emails/notification.txt", context),
            to=[notification.recipient.email],
        )
        message.attach_alternative(render_to_string("emails/notification.html", context),
                                   "text/html")
        message.send()
        notification.emailed_at = timezone.now()
        notification.email_attempts += 1
        notification.save(update_fields=["emailed_at", "email_attempts"])
    return True


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())


# --- the plan as care tasks --------------------------------------------------------------------

PLANNED_COURSE_STATES = (CourseState.APPROVED, CourseState.ACTIVE, CourseState.COMPLETED,
                         CourseState.DISCONTINUED)
_EVENT_TASK = {
    rules.EventKind.SSA_WASHOUT: TaskKind.SSA_WASHOUT_CHECK,
    rules.EventKind.PRE_DOSE_LABS: TaskKind.PRE_DOSE_LABS,
    rules.EventKind.INFUSION: TaskKind.INFUSION,
    rules.EventKind.LAR_INJECTION: TaskKind.LAR_INJECTION,
    rules.EventKind.IMAGING: TaskKind.IMAGING,
    rules.EventKind.POST_COURSE_LABS: TaskKind.POST_COURSE_LABS,
    rules.EventKind.SSTR_PET: TaskKind.SSTR_PET,
    rules.EventKind.LAR_MAINTENANCE: TaskKind.LAR_MAINTENANCE,
}
_SEQUENCED = (TaskKind.IMAGING, TaskKind.LAR_MAINTENANCE)
_REFERRAL_FOLLOW_UP_AFTER_LABS_DAYS = 7
_REFERRAL_FOLLOW_UP_SLACK_DAYS = 14


@dataclass(frozen=True)
class PlannedTask:
    """What the plan asks for, before it meets the database."""

    kind: str
    cycle: int
    sequence: int
    earliest: dt.date
    due: dt.date
    latest: dt.date
    basis: str
    note: str
    owner_party: str

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.kind, self.cycle, self.sequence)


@dataclass
class PlanSyncResult:
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    reopened: int = 0
    completed: int = 0
    reminders_created: int = 0
    reminders_moved: int = 0
    reminders_cancelled: int = 0


def _days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def course_plan_events(course: TreatmentCourse) -> tuple[rules.PlanEvent, ...]:
    """The course's plan as the rules compute it from the doses given, the booked date of the next
    cycle and any withhold; empty when the course has no plan (not approved, or ended before a
    dose was given).

    The rules plan a cycle 56 days after the previous dose. When the next cycle is booked for
    another day, or is withheld (expected ``NETCARE_WITHHELD_RECHECK_DAYS`` after the latest
    decision to withhold it), the plan is computed as if it were given on that day, so every
    dependent obligation (washout, labs, LAR, precautions, later cycles, follow-up) moves with it.
    """
    if course.state not in PLANNED_COURSE_STATES:
        return ()
    config = clinical.rules_config(course.centre)
    doses = list(clinical.course_history(course).doses)
    if course.state in (CourseState.COMPLETED, CourseState.DISCONTINUED):
        if not doses:
            return ()
        return rules.course_plan(doses[0].date, doses, config, course_ended=True)
    number = len(doses) + 1
    if number > config.max_cycles:
        return rules.course_plan(doses[0].date, doses, config)
    following = course.cycles.filter(number=number).first()
    if following is None or following.state == CycleState.CANCELLED:
        if not doses:
            return ()
        return rules.course_plan(doses[0].date, doses, config, course_ended=True)
    expected = following.planned_date
    if doses:
        expected = max(expected, _days(doses[-1].date, config.cycle_window_early_days))
    if following.state == CycleState.WITHHELD:
        withheld = (following.decisions.filter(decision=CycleDecision.Decision.WITHHOLD)
                    .order_by("-decided_at").first())
        if withheld is not None:
            decided_on = clinical.local_date(withheld.decided_at, course.centre)
            expected = max(expected, _days(decided_on, settings.NETCARE_WITHHELD_RECHECK_DAYS))
    if not doses:
        return rules.course_plan(expected, (), config)
    if expected == _days(doses[-1].date, config.cycle_interval_days):
        return rules.course_plan(doses[0].date, doses, config)
    booked = rules.Dose(cycle=number, date=expected, activity_gbq=config.full_activity_gbq)
    events = rules.course_plan(doses[0].date, [*doses, booked], config)
    return tuple(_booked_as_planned(event, number, expected) for event in events)


def _booked_as_planned(event: rules.PlanEvent, number: int,
                       booked: dt.date) -> rules.PlanEvent:
    """Events computed from a booked (not given) cycle rest on a plan date, not a dose."""
    if event.basis != rules.Basis.ACTUAL:
        return event
    if event.cycle is not None and event.cycle < number:
        return event
    if event.cycle is None and event.kind == rules.EventKind.IMAGING and event.due <= booked:
        return event
    note = event.note
    if event.kind == rules.EventKind.INFUSION and event.cycle == number:
        note = (f"Cycle {number}: booked for {booked:%d %b %Y}; the dose is decided before the "
                "infusion (antiemetic, amino acids, observation as for every cycle).")
    return dataclasses.replace(event, basis=rules.Basis.PLANNED, note=note)


def _owner(kind: str, course: TreatmentCourse) -> str:
    agreed = {
        TaskKind.PRE_DOSE_LABS: course.labs_drawn_by,
        TaskKind.POST_COURSE_LABS: course.labs_drawn_by,
        TaskKind.LAR_INJECTION: course.lar_during_course_by,
        TaskKind.LAR_MAINTENANCE: course.lar_after_course_by,
    }.get(kind, Responsible.CENTRE)
    return OwnerParty.PRACTICE if agreed == Responsible.PRACTICE else OwnerParty.CENTRE


def move_out_of_precaution_windows(
        task: PlannedTask, windows: Sequence[tuple[int | None, dt.date, dt.date]]) -> PlannedTask:
    """A routine blood draw never falls in a precaution window (day 0 after an infusion through
    its last day): a lab task due there moves to the first day after it. A pre-dose draw on the
    day of its own infusion (before it) is fine."""
    earliest, due, latest = task.earliest, task.due, task.latest
    moved = True
    while moved:
        moved = False
        for cycle, start, end in sorted(windows, key=lambda w: w[1]):
            if cycle is not None and cycle == task.cycle:
                continue
            if start <= due <= end:
                due = _days(end, 1)
                moved = True
            if start <= earliest <= end:
                earliest = _days(end, 1)
    earliest = min(earliest, due)
    latest = max(latest, due)
    if (earliest, due, latest) == (task.earliest, task.due, task.latest):
        return task
    return dataclasses.replace(task, earliest=earliest, due=due, latest=latest)


def plan_tasks(events: Sequence[rules.PlanEvent], *, course: TreatmentCourse) -> list[PlannedTask]:
    """The CareTasks a plan asks for (pure: no database).

    One task per plan event, except: the precaution window becomes a radiation-safety education
    task on the infusion day and a check-in task from day 1 (due day 2, by the window's last day);
    the no-routine-bloods window moves lab tasks out of it; and the referral follow-up (the course
    summary and post-course labs to the referring oncologist) is due a week after the post-course
    labs.
    """
    windows = [(e.cycle, e.due, e.latest) for e in events
               if e.kind == rules.EventKind.NO_ROUTINE_BLOODS]
    planned: list[PlannedTask] = []
    sequence: dict[str, int] = {}

    def add(kind: str, cycle: int | None, earliest: dt.date, due: dt.date, latest: dt.date,
            basis: str, note: str) -> None:
        number = 1
        if kind in _SEQUENCED:
            number = sequence[kind] = sequence.get(kind, 0) + 1
        task = PlannedTask(kind=kind, cycle=cycle or 0, sequence=number, earliest=earliest,
                           due=due, latest=latest, basis=str(basis), note=note,
                           owner_party=_owner(kind, course))
        if kind in LAB_TASK_KINDS:
            task = move_out_of_precaution_windows(task, windows)
        planned.append(task)

    for event in events:
        basis = str(event.basis)
        if event.kind in _EVENT_TASK:
            add(_EVENT_TASK[event.kind], event.cycle, event.earliest, event.due, event.latest,
                basis, event.note)
        if event.kind == rules.EventKind.RADIATION_PRECAUTIONS:
            day, end = event.due, event.latest
            add(TaskKind.RADIATION_SAFETY_EDUCATION, event.cycle, day, day, day, basis,
                event.note)
            if end > day:
                add(TaskKind.RADIATION_SAFETY_CHECKIN, event.cycle, _days(day, 1),
                    min(_days(day, 2), end), end, basis,
                    f"Check in with the patient during the precaution window (until "
                    f"{end:%d %b %Y}): precautions understood and followed, symptoms, questions.")
        if event.kind == rules.EventKind.POST_COURSE_LABS:
            due = _days(event.due, _REFERRAL_FOLLOW_UP_AFTER_LABS_DAYS)
            add(TaskKind.REFERRAL_FOLLOW_UP, None, event.due, due,
                _days(due, _REFERRAL_FOLLOW_UP_SLACK_DAYS), basis,
                "Send the course summary and the post-course labs to the referring oncologist "
                "and confirm the follow-up: LAR maintenance, CT/MRI every 3 months, SSTR PET.")
    planned.sort(key=lambda t: (t.due, t.kind, t.cycle, t.sequence))
    return planned


def plan_sync(*, course: TreatmentCourse, today: dt.date | None = None) -> PlanSyncResult:
    """Bring the course's CareTasks and reminders in line with its plan.

    Open tasks move in place (keyed by course, kind, cycle and sequence), tasks the plan no longer
    has are cancelled with the reason, a cancelled task the plan needs again is reopened, done and
    skipped tasks never change. An infusion or LAR injection the records show as given is marked
    done by NETcare. Running it twice changes nothing the second time. `today` defaults to the
    centre's local date.
    """
    result = PlanSyncResult()
    with transaction.atomic():
        course = (TreatmentCourse.objects.select_for_update(of=("self",))
                  .select_related("centre", "patient").get(pk=course.pk))
        today = today or clinical.local_date(timezone.now(), course.centre)
        planned = plan_tasks(course_plan_events(course), course=course)
        existing = {(t.kind, t.cycle, t.sequence): t for t in
                    CareTask.objects.select_for_update().filter(course=course)}
        wanted = {p.key: p for p in planned}
        new: list[CareTask] = []
        for key, plan in wanted.items():
            task = existing.get(key)
            if task is None:
                new.append(CareTask(course=course, patient=course.patient, kind=plan.kind,
                                    cycle=plan.cycle, sequence=plan.sequence,
                                    owner_party=plan.owner_party, earliest=plan.earliest,
                                    due=plan.due, latest=plan.latest, basis=plan.basis,
                                    note=plan.note))
                continue
            if task.state in (TaskState.DONE, TaskState.SKIPPED):
                continue
            if task.state == TaskState.CANCELLED:
                task.reopen()
                task.reason = ""
                _apply_plan(task, plan)
                task.save()
                audit.record_transition(actor=None, obj=task, source=TaskState.CANCELLED,
                                        target=TaskState.OPEN, note="Needed again by the plan.")
                result.reopened += 1
            elif _apply_plan(task, plan):
                task.save()
                result.moved += 1
        CareTask.objects.bulk_create(new)
        result.created = len(new)
        reason = _cancel_reason(course)
        for key, task in existing.items():
            if key not in wanted and task.state == TaskState.OPEN:
                task.cancel()
                task.reason = reason
                task.save()
                audit.record_transition(actor=None, obj=task, source=TaskState.OPEN,
                                        target=TaskState.CANCELLED, note=reason)
                result.cancelled += 1
        result.completed = _complete_from_records(course)
        counts = _reminders_sync(course, today=today)
        result.reminders_created, result.reminders_moved, result.reminders_cancelled = counts
    return result


def _apply_plan(task: CareTask, plan: PlannedTask) -> bool:
    changed = False
    for name in ("earliest", "due", "latest", "basis", "note"):
        if getattr(task, name) != getattr(plan, name):
            setattr(task, name, getattr(plan, name))
            changed = True
    if task.owner_party != OwnerParty.USER and task.owner_party != plan.owner_party:
        task.owner_party = plan.owner_party
        changed = True
    return changed


def _cancel_reason(course: TreatmentCourse) -> str:
    if course.state == CourseState.DISCONTINUED:
        return "No longer needed: the course was discontinued."
    if course.state == CourseState.COMPLETED:
        return "No longer needed: the course is complete."
    if course.state not in PLANNED_COURSE_STATES:
        return "No longer needed: the course is not approved."
    return "No longer needed after re-planning."


def _complete_from_records(course: TreatmentCourse) -> int:
    """Infusions and LAR injections recorded on the infusion day close their tasks."""
    done = 0
    administrations = Administration.objects.filter(cycle__course=course).select_related("cycle")
    for administration in administrations:
        records = [(TaskKind.INFUSION, administration.administered_at,
                    f"{administration.activity_gbq} GBq")]
        if administration.lar_injected_at is not None:
            records.append((TaskKind.LAR_INJECTION, administration.lar_injected_at,
                            "Octreotide LAR 30 mg"))
        for kind, at, value in records:
            task = CareTask.objects.filter(course=course, kind=kind,
                                           cycle=administration.cycle.number,
                                           state=TaskState.OPEN).first()
            if task is None:
                continue
            task.complete()
            task.done_at, task.done_by, task.value = at, administration.recorded_by, value
            task.save()
            audit.record_transition(actor=None, obj=task, source=TaskState.OPEN,
                                    target=TaskState.DONE, note="Recorded on the infusion day.")
            done += 1
    return done


def plans_refresh(*, today: dt.date) -> int:
    """Refresh every running course (readiness, completion) and re-sync its plan; beat runs it
    hourly so plans that depend on the calendar (a cycle still withheld) stay current."""
    from prrt.services import prrt_sweep

    prrt_sweep(today=today)
    count = 0
    for course in TreatmentCourse.objects.filter(
            state__in=[CourseState.APPROVED, CourseState.ACTIVE]).only("pk"):
        plan_sync(course=course)  # each course on its centre's local date
        count += 1
    return count


# --- reminders: what should be sent, and when --------------------------------------------------

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


def centre_team(centre_id: int) -> list:
    """The active navigators and NET specialists of a centre, by name: who hears about a
    patient's news and who may take over a task."""
    from netcare.models import User

    return list(User.objects.filter(centre_id=centre_id, is_active=True,
                                    role__in=[Role.NAVIGATOR, Role.SPECIALIST])
                .order_by("last_name", "first_name", "pk"))


def centre_navigators(centre_id: int) -> list:
    from netcare.models import User

    return list(User.objects.filter(role=Role.NAVIGATOR, centre_id=centre_id, is_active=True)
                .order_by("pk"))


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
        days = clinical.rules_config(course.centre).precaution_days
        for administration in Administration.objects.filter(cycle__course=course).select_related(
                "cycle"):
            given = clinical.local_date(administration.administered_at, course.centre)
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


def _reminders_sync(course: TreatmentCourse, *, today: dt.date) -> tuple[int, int, int]:
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
            moved += Reminder.objects.filter(
                pk=reminder.pk, state__in=[ReminderState.PENDING, ReminderState.CANCELLED],
            ).update(state=ReminderState.PENDING, send_at=spec.send_at, payload=spec.payload,
                     last_error="")
    Reminder.objects.bulk_create(created, ignore_conflicts=True)
    stale = [r.pk for key, r in existing.items()
             if key not in wanted and r.state == ReminderState.PENDING]
    if stale:
        cancelled = Reminder.objects.filter(pk__in=stale, state=ReminderState.PENDING).update(
            state=ReminderState.CANCELLED, claimed_until=None, last_error="No longer needed.")
    return len(created), moved, cancelled


def digests_schedule(*, now: dt.datetime | None = None) -> int:
    """Create today's morning digest for every navigator whose centre's morning has come (from
    ``NETCARE_DIGEST_HOUR`` until noon, local time); one per navigator and day, by its key."""
    from netcare.models import User

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


# --- reminders: the sweep and the send ---------------------------------------------------------

SEND_ERRORS = (SMTPException, OSError, SmsError)


@dataclass
class SweepResult:
    claimed: list[int] = dataclasses.field(default_factory=list)
    given_up: list[int] = dataclasses.field(default_factory=list)


def _enqueue_sends(ids: Sequence[int]) -> None:
    """One send task per claimed reminder, published over one broker connection."""
    from coordinators import tasks

    with tasks.send_reminder.app.producer_or_acquire() as producer:
        for pk in ids:
            tasks.send_reminder.apply_async(kwargs={"reminder_id": pk}, producer=producer)


def reminders_sweep(*, now: dt.datetime | None = None, batch_size: int | None = None,
                    max_batches: int | None = None,
                    enqueue: Callable[[Sequence[int]], None] | None = None) -> SweepResult:
    """Claim the due reminders and enqueue one send each (beat runs this every minute).

    Each batch is one transaction: lock due, unclaimed (or lease-expired) pending rows with
    ``FOR UPDATE SKIP LOCKED`` so concurrent sweeps take disjoint rows, set their lease and count
    the attempt, commit, then enqueue. A claim whose send never finished (killed worker, message
    lost with the broker) is claimed again after the lease; one that has used every attempt is
    marked failed and shown to the navigators instead.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.NETCARE_REMINDER_SWEEP_BATCH
    enqueue = enqueue or _enqueue_sends
    lease_until = now + dt.timedelta(seconds=settings.NETCARE_REMINDER_LEASE_SECONDS)
    max_attempts = settings.NETCARE_REMINDER_MAX_ATTEMPTS
    result = SweepResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            rows = list(
                Reminder.objects.select_for_update(skip_locked=True)
                .filter(state=ReminderState.PENDING, send_at__lte=now)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
                .order_by("send_at", "pk").values_list("pk", "attempts")[:batch_size])
            claim = [pk for pk, attempts in rows if attempts < max_attempts]
            exhausted = [pk for pk, attempts in rows if attempts >= max_attempts]
            if claim:
                Reminder.objects.filter(pk__in=claim).update(
                    claimed_until=lease_until, attempts=F("attempts") + 1)
                transaction.on_commit(lambda ids=claim: enqueue(ids))
            if exhausted:
                Reminder.objects.filter(pk__in=exhausted).update(
                    state=ReminderState.FAILED, claimed_until=None,
                    last_error=f"Gave up: no send finished in {max_attempts} attempts.")
                transaction.on_commit(lambda ids=exhausted: _show_failures(ids))
        result.claimed.extend(claim)
        result.given_up.extend(exhausted)
        if len(rows) < batch_size:
            break
    return result


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one reminder at most once: 'sent', 'failed' (will retry or gave up), 'cancelled'
    (no longer relevant) or 'skipped' (already sent, not due, or being sent by another worker).

    The row is locked (``SKIP LOCKED``: a second delivery of the same task leaves it to the
    first), checked and marked sent in the same transaction as the send, so a redelivery, a retry
    or two sweeps never send it twice, and a worker killed before the commit leaves it pending
    for the next claim. The message carries a Message-ID (email) or idempotency key (SMS) derived
    from the reminder's key, so a gateway can recognise a resend after a crash in the instant
    between handing the message over and committing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # A plain row lock (no joins, no ordering): related rows are read as needed.
        locked = list(Reminder.objects.select_for_update(skip_locked=True).filter(
            pk=reminder_id, state=ReminderState.PENDING, send_at__lte=now).order_by()[:1])
        if not locked:
            return "skipped"
        reminder = locked[0]
        problem = _not_to_send(reminder)
        if problem:
            reminder.state, reminder.last_error, reminder.claimed_until = (
                ReminderState.CANCELLED, problem, None)
            reminder.save(update_fields=["state", "last_error", "claimed_until"])
            return "cancelled"
        try:
            if reminder.kind == ReminderKind.DIGEST and not _deliver_digest(reminder, now):
                reminder.state, reminder.last_error = ReminderState.CANCELLED, "Nothing to report."
                reminder.save(update_fields=["state", "last_error"])
                return "cancelled"
            if reminder.kind != ReminderKind.DIGEST:
                _deliver(reminder)
        except SEND_ERRORS as exc:
            return _record_failure(reminder, exc, now)
        reminder.state, reminder.sent_at, reminder.claimed_until, reminder.last_error = (
            ReminderState.SENT, now, None, "")
        reminder.save(update_fields=["state", "sent_at", "claimed_until", "last_error"])
    return "sent"


def _not_to_send(reminder: Reminder) -> str:
    if reminder.task_id is not None and reminder.task.state != TaskState.OPEN:
        return f"The task is {reminder.task.state}."
    user, patient = reminder.recipient_user, reminder.recipient_patient
    if user is not None and (not user.is_active or not user.email):
        return "The recipient has no active account with an email address."
    if patient is not None:
        if not patient.reminder_consent:
            return "The patient does not consent to reminders."
        if not (patient.email if reminder.channel == Channel.EMAIL else patient.phone):
            return "The patient has no address for this channel."
    return ""


def _record_failure(reminder: Reminder, exc: Exception, now: dt.datetime) -> str:
    reminder.last_error = f"{type(exc).__name__}: {exc}"[:255]
    logger.warning("Reminder %s: send attempt %s failed (%s)", reminder.pk, reminder.attempts,
                   type(exc).__name__)
    if reminder.attempts >= settings.NETCARE_REMINDER_MAX_ATTEMPTS:
        reminder.state, reminder.claimed_until = ReminderState.FAILED, None
        transaction.on_commit(lambda: _show_failures([reminder.pk]))
    else:
        backoff = min(settings.NETCARE_REMINDER_BACKOFF_SECONDS * 2 ** max(reminder.attempts - 1,
                                                                            0), 3600)
        reminder.claimed_until = now + dt.timedelta(seconds=backoff)
    reminder.save(update_fields=["state", "claimed_until", "last_error"])
    return "failed"


def _show_failures(ids: Sequence[int]) -> None:
    """Tell the navigators of the centre concerned, in NETcare, about reminders given up on."""
    for reminder in Reminder.objects.filter(pk__in=list(ids)).select_related(
            "course", "recipient_user", "task"):
        centre_id = (reminder.course.centre_id if reminder.course_id
                     else reminder.recipient_user.centre_id)
        url = ""
        if reminder.course_id:
            url = f"/patients/{reminder.course.patient.external_id}/"
        notify(recipients=centre_navigators(centre_id),
               subject="A reminder could not be sent",
               body=(f"The {reminder.get_kind_display().lower()} reminder #{reminder.pk} "
                     f"({reminder.get_channel_display()}) could not be sent after "
                     f"{reminder.attempts} attempts: {reminder.last_error.split(':')[0]}. "
                     "Please contact the recipient another way."),
               url=url)


def _message_id(reminder: Reminder) -> str:
    digest = hashlib.sha256(reminder.key.encode()).hexdigest()[:20]
    return f"<reminder.{reminder.pk}.{digest}@netcare>"


def _email(reminder: Reminder, template: str, context: dict, to: str) -> None:
    context = {**context, "base_url": settings.NETCARE_BASE_URL, "reminder": reminder}
    message = EmailMultiAlternatives(
        subject=render_to_string(f"emails/{template}_subject.txt", context).strip(),
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
        headers={"Message-ID": _message_id(reminder), "X-NETcare-Reminder": reminder.key},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()


def _deliver(reminder: Reminder) -> None:
    task = reminder.task
    if reminder.kind in (ReminderKind.TASK_DUE, ReminderKind.TASK_OVERDUE):
        template = ("reminder_task_due" if reminder.kind == ReminderKind.TASK_DUE
                    else "reminder_task_overdue")
        _email(reminder, template, {"task": task, "user": reminder.recipient_user,
                                    "patient_url": f"/patients/{task.patient.external_id}/"},
               reminder.recipient_user.email)
        return
    patient = reminder.recipient_patient
    centre = reminder.course.centre
    template = ("reminder_precautions" if reminder.kind == ReminderKind.PRECAUTIONS
                else "reminder_appointment")
    context = {"task": task, "centre": centre, "payload": reminder.payload}
    if reminder.channel == Channel.EMAIL:
        _email(reminder, template, context, patient.email)
    else:
        body = render_to_string(f"coordinators/sms_{template}.txt", context).strip()
        send_sms(to=patient.phone, body=body, idempotency_key=reminder.key)


def _deliver_digest(reminder: Reminder, now: dt.datetime) -> bool:
    from coordinators.selectors import navigator_digest

    user = reminder.recipient_user
    day = dt.date.fromisoformat(reminder.payload.get("day") or now.date().isoformat())
    digest = navigator_digest(user, today=day)
    if digest.is_empty:
        return False
    _email(reminder, "reminder_digest", {"digest": digest, "user": user, "day": day}, user.email)
    return True


# --- task verbs --------------------------------------------------------------------------------


def _task_step(task: CareTask, step: Step, actor, reason: str = "",
               after_apply: Callable[[CareTask], None] | None = None) -> CareTask:
    return run_transition(queryset=CareTask.objects.all(), pk=task.pk, step=step, actor=actor,
                          reason=reason, record_event=lambda obj, source, target: None,
                          after_apply=after_apply)


def _local_today(task: CareTask) -> dt.date:
    return clinical.local_date(timezone.now(), task.course.centre)


def _check_may_act(actor, task: CareTask) -> None:
    from netcare.access import can_change_patient

    if actor is None or not can_change_patient(actor, task.patient):
        raise TransitionForbidden("You cannot change this task.")


def task_complete(*, actor, task: CareTask, done_at: dt.datetime | None = None,
                  value: str = "") -> CareTask:
    """Mark an open task done (by `actor`, at `done_at`, with what was recorded); its unsent
    reminders are cancelled."""
    done_at = done_at or timezone.now()
    if done_at.tzinfo is None:
        raise TransitionInvalid("Give the time with its time zone.", field="done_at")
    if done_at > timezone.now() + dt.timedelta(minutes=5):
        raise TransitionInvalid("A task cannot be done in the future.", field="done_at")

    def apply(obj: CareTask) -> None:
        obj.done_at, obj.done_by, obj.value = done_at, actor, (value or "").strip()

    with transaction.atomic():
        task = _task_step(task, Step("complete", "mark the task done"), actor,
                          after_apply=apply)
        _reminders_sync(task.course, today=_local_today(task))
    return task


def task_skip(*, actor, task: CareTask, reason: str) -> CareTask:
    """Skip an open task, with the reason (e.g. done elsewhere, not clinically needed)."""
    def apply(obj: CareTask) -> None:
        obj.reason = reason.strip()

    with transaction.atomic():
        task = _task_step(task, Step("skip", "skip the task", reason_required=True), actor,
                          reason=reason, after_apply=apply)
        _reminders_sync(task.course, today=_local_today(task))
    return task


def _locked_open_task(actor, task: CareTask) -> CareTask:
    from netcare.workflow import TransitionConflict

    locked = (CareTask.objects.select_for_update(of=("self",))
              .select_related("patient", "course__centre").get(pk=task.pk))
    _check_may_act(actor, locked)
    if locked.state != TaskState.OPEN:
        raise TransitionConflict(f"The task is {locked.get_state_display().lower()} now.")
    return locked


def task_reassign(*, actor, task: CareTask, owner_user=None, owner_party: str | None = None,
                  reason: str = "") -> CareTask:
    """Give an open task to a named user (who must be able to see the patient) or back to the
    centre or the referring practice. Re-planning keeps a named owner."""
    from netcare.access import can_view_patient

    if (owner_user is None) == (owner_party is None) or owner_party == OwnerParty.USER:
        raise TransitionInvalid("Name a user, or the centre or the practice.", field="owner")
    if owner_party is not None and owner_party not in OwnerParty.values:
        raise TransitionInvalid(f"Unknown owner '{owner_party}'.", field="owner")
    with transaction.atomic():
        locked = _locked_open_task(actor, task)
        if owner_user is not None and not (owner_user.is_active
                                           and can_view_patient(owner_user, locked.patient)):
            raise TransitionInvalid("That user cannot see this patient.", field="owner")
        before = audit.snapshot(locked, ["owner_party", "owner_user_id"])
        locked.owner_party = OwnerParty.USER if owner_user is not None else owner_party
        locked.owner_user = owner_user
        locked.save(update_fields=["owner_party", "owner_user", "updated_at"])
        audit.record_update(actor=actor, obj=locked, before=before, note=reason.strip())
        _reminders_sync(locked.course, today=_local_today(locked))
    return locked


def task_snooze(*, actor, task: CareTask, until: dt.date, reason: str) -> CareTask:
    """Hold an open task's reminders until `until` (a later day), with the reason; its dates
    do not change."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionInvalid("A reason is required to snooze the task.", field="reason")
    with transaction.atomic():
        locked = _locked_open_task(actor, task)
        if until <= _local_today(locked):
            raise TransitionInvalid("Snooze until a later day.", field="until")
        before = audit.snapshot(locked, ["snoozed_until", "reason"])
        locked.snoozed_until, locked.reason = until, reason
        locked.save(update_fields=["snoozed_until", "reason", "updated_at"])
        audit.record_update(actor=actor, obj=locked, before=before, note=reason)
        _reminders_sync(locked.course, today=_local_today(locked))
    return locked
