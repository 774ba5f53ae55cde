"""The care plan as tasks: the rules' plan of a course, materialised as CareTasks.

:func:`plan_sync` computes the course's plan (``rules.course_plan``) from the doses given and
the next cycle's date, and brings the course's CareTasks and reminders in line with it, keyed by
(course, kind, cycle, sequence). It runs on commit of every change that moves the plan (through
domain events, see :mod:`coordinators.handlers`) and hourly as a safety net. Task state changes go
through the task funnel in :mod:`coordinators.services`, recorded as NETcare's own acts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

import rules
from coordinators.models import LAB_TASK_KINDS, CareTask, OwnerParty, TaskKind, TaskState
from coordinators.reminders import reminders_sync
from coordinators.services import task_cancel_by_plan, task_fulfil, task_reopen_by_plan
from netcare.clock import centre_today, local_date
from prrt import clinical
from prrt.models import (
    Administration,
    CourseState,
    CycleDecision,
    CycleState,
    Responsible,
    TreatmentCourse,
)
from prrt.services import prrt_sweep

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
            decided_on = local_date(withheld.decided_at, course.centre)
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
        today = today or centre_today(course.centre)
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
                task_reopen_by_plan(task=task, apply=lambda obj, p=plan: _apply_plan(obj, p))
                result.reopened += 1
            elif _apply_plan(task, plan):
                task.save()
                result.moved += 1
        CareTask.objects.bulk_create(new)
        result.created = len(new)
        reason = _cancel_reason(course)
        for key, task in existing.items():
            if key not in wanted and task.state == TaskState.OPEN:
                task_cancel_by_plan(task=task, reason=reason)
                result.cancelled += 1
        result.completed = _complete_from_records(course)
        counts = reminders_sync(course, today=today)
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
            task_fulfil(task=task, done_at=at, value=value,
                        reason="Recorded on the infusion day.")
            done += 1
    return done


def plans_refresh(*, today: dt.date | None = None) -> int:
    """Refresh every running course (readiness, completion) and re-sync its plan; beat runs it
    hourly so plans that depend on the calendar (a cycle still withheld) stay current. Changes
    of the record reach the plan at once through domain events (coordinators.handlers); this
    sweep is for time passing and a safety net."""
    prrt_sweep(today=today)
    count = 0
    for course in TreatmentCourse.objects.filter(
            state__in=[CourseState.APPROVED, CourseState.ACTIVE]).only("pk"):
        plan_sync(course=course)  # each course on its centre's local date
        count += 1
    return count


