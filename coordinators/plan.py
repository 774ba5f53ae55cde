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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

import rules
from coordinators.fulfilment import fulfil_met_tasks
from coordinators.models import (
    LAB_TASK_KINDS,
    UNPLANNED_KINDS,
    CareTask,
    OwnerParty,
    ReferralLetter,
    TaskKind,
    TaskState,
)
from coordinators.reminders import reminders_sync
from coordinators.services import task_cancel_by_plan, task_reopen_by_plan
from netcare.clock import centre_today, centre_zone
from prrt.models import (
    LIVE_ORDER_STATES,
    OPEN_CYCLE_STATES,
    CourseState,
    CycleDecision,
    CycleState,
    DoseOrder,
    Responsible,
    TreatmentCourse,
)
from prrt.orders import calibration_day, default_supplier, supplier_terms
from prrt.schedule import (
    PLANNED_COURSE_STATES,
    course_plan_events,
    cycle_dates_sync,
    last_withhold,
    recheck_day,
)
from prrt.services import prrt_sweep

_EVENT_TASK = {
    rules.EventKind.SSA_WASHOUT: TaskKind.SSA_WASHOUT_CHECK,
    rules.EventKind.PRE_DOSE_LABS: TaskKind.PRE_DOSE_LABS,
    rules.EventKind.CONFIRMATORY_LABS: TaskKind.CONFIRMATORY_LABS,
    rules.EventKind.INFUSION: TaskKind.INFUSION,
    rules.EventKind.LAR_INJECTION: TaskKind.LAR_INJECTION,
    rules.EventKind.IMAGING: TaskKind.IMAGING,
    rules.EventKind.POST_COURSE_LABS: TaskKind.POST_COURSE_LABS,
    rules.EventKind.SSTR_PET: TaskKind.SSTR_PET,
    rules.EventKind.LAR_MAINTENANCE: TaskKind.LAR_MAINTENANCE,
}
_SEQUENCED = (TaskKind.IMAGING, TaskKind.LAR_MAINTENANCE)
_REFER_BACK_DUE_DAYS = 7  # after the last precaution window
_REFER_BACK_SLACK_DAYS = 14
_REBOOK_SLACK_DAYS = 7


@dataclass(frozen=True)
class Rebook:
    """A withheld cycle waiting to be rebooked: the navigator's task from its recheck day."""

    cycle: int
    sequence: int  # the withhold episode of this cycle, from 1
    recheck: dt.date
    note: str


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


FOLLOW_UP_KINDS = (TaskKind.POST_COURSE_LABS, TaskKind.LAR_MAINTENANCE, TaskKind.IMAGING,
                   TaskKind.SSTR_PET)


def _owner(kind: str, course: TreatmentCourse, *, referred_back: bool = False) -> str:
    """Who holds a task: the responsibility agreement of the course; once the course letter has
    referred the patient back, the follow-up is the referring practice's."""
    if referred_back and kind in FOLLOW_UP_KINDS:
        return OwnerParty.PRACTICE
    agreed = {
        TaskKind.PRE_DOSE_LABS: course.labs_drawn_by,
        TaskKind.CONFIRMATORY_LABS: course.labs_drawn_by,
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


@dataclass(frozen=True)
class DoseToOrder:
    """A cycle whose dose the centre orders: the order task is due on the supplier's cut-off."""

    cycle: int
    sequence: int  # the order of this cycle, from 1 (a cancelled order is followed by another)
    deadlines: rules.OrderDeadlines
    supplier: str
    booked: bool


ORDER_LEAD_DAYS = 14  # the order task opens this long before the cut-off


def plan_tasks(events: Sequence[rules.PlanEvent], *, course: TreatmentCourse,
               rebooks: Sequence[Rebook] = (), referred_back: bool = False,
               withholds: Mapping[int, int] | None = None,
               doses: Sequence[DoseToOrder] = ()) -> list[PlannedTask]:
    """The CareTasks a plan asks for (pure: no database).

    One task per plan event, except: the precaution window becomes a radiation-safety education
    task on the infusion day and a check-in task from day 1 (due day 2, by the window's last day);
    the no-routine-bloods window moves lab tasks out of it; once every infusion is given (or the
    course ended) the referral back with the course letter is due a week after the last
    precaution window; and a withheld cycle waiting to be rebooked has a rebooking task from its
    recheck day. After each withhold of a cycle its pre-dose labs are asked for again: a new
    labs task (the next sequence) in the window before the new day, the earlier one kept as it
    was.
    """
    withholds = withholds or {}
    windows = [(e.cycle, e.due, e.latest) for e in events
               if e.kind == rules.EventKind.NO_ROUTINE_BLOODS]
    planned: list[PlannedTask] = []
    sequence: dict[str, int] = {}

    def add(kind: str, cycle: int | None, earliest: dt.date, due: dt.date, latest: dt.date,
            basis: str, note: str) -> None:
        number = 1
        if kind in _SEQUENCED:
            number = sequence[kind] = sequence.get(kind, 0) + 1
        elif kind == TaskKind.PRE_DOSE_LABS:
            number = 1 + withholds.get(cycle or 0, 0)
        task = PlannedTask(kind=kind, cycle=cycle or 0, sequence=number, earliest=earliest,
                           due=due, latest=latest, basis=str(basis), note=note,
                           owner_party=_owner(kind, course, referred_back=referred_back))
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
    infusions = [e for e in events if e.kind == rules.EventKind.INFUSION]
    if infusions and all(e.basis == rules.Basis.ACTUAL for e in infusions):
        last = infusions[-1]
        window_end = max((e.latest for e in events if e.cycle == last.cycle
                          and e.kind == rules.EventKind.RADIATION_PRECAUTIONS), default=last.due)
        earliest = _days(window_end, 1)
        due = _days(window_end, _REFER_BACK_DUE_DAYS)
        add(TaskKind.REFERRAL_FOLLOW_UP, None, earliest, due, _days(due, _REFER_BACK_SLACK_DAYS),
            str(last.basis),
            "Refer the patient back: send the course letter (doses, withholds, adverse events, "
            "the follow-up plan with its dates and owners) to the referring oncologist.")
    for dose in doses:
        d = dose.deadlines
        first = "" if dose.booked else "Book the infusion, then "
        planned.append(PlannedTask(
            kind=TaskKind.DOSE_ORDER, cycle=dose.cycle, sequence=dose.sequence,
            earliest=_days(d.order_by, -ORDER_LEAD_DAYS), due=d.order_by, latest=d.order_by,
            basis=str(rules.Basis.PLANNED), owner_party=OwnerParty.CENTRE,
            note=f"{first}order the cycle {dose.cycle} dose from {dose.supplier} by "
                 f"{d.order_by:%a %d %b %Y} (calibration {d.calibration_day:%d %b %Y}); "
                 f"pre-dose labs by {d.labs_by:%d %b %Y}; free cancellation until "
                 f"{d.free_cancellation_until:%a %d %b %Y}."))
    planned.extend(PlannedTask(
        kind=TaskKind.REBOOK_CYCLE, cycle=rebook.cycle, sequence=rebook.sequence,
        earliest=rebook.recheck, due=rebook.recheck,
        latest=_days(rebook.recheck, _REBOOK_SLACK_DAYS), basis=str(rules.Basis.PLANNED),
        note=rebook.note, owner_party=OwnerParty.CENTRE) for rebook in rebooks)
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
        events = course_plan_events(course)
        cycle_dates_sync(course, events)
        referred_back = ReferralLetter.objects.filter(
            course=course, state=ReferralLetter.State.SENT).exists()
        withholds = withholds_per_cycle(course)
        planned = plan_tasks(events, course=course, rebooks=rebooks_for(course, withholds),
                             referred_back=referred_back, withholds=withholds,
                             doses=doses_to_order(course, events))
        existing = {(t.kind, t.cycle, t.sequence): t for t in
                    CareTask.objects.select_for_update().filter(course=course)
                    .exclude(kind__in=UNPLANNED_KINDS)}
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
        _infusion_appointments(course)
        result.completed = fulfil_met_tasks(course)
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


def _infusion_appointments(course: TreatmentCourse) -> None:
    """A booked infusion's time and room are its open task's appointment (the calendar feed,
    the caseload and the patient's reminders show them)."""
    zone = centre_zone(course.centre)
    for cycle in course.cycles.filter(state__in=OPEN_CYCLE_STATES):
        booked = cycle.booked_date is not None and cycle.booked_date == cycle.planned_date
        at = (dt.datetime.combine(cycle.booked_date, cycle.booked_time, tzinfo=zone)
              if booked and cycle.booked_time else None)
        place = cycle.booked_place if booked else ""
        CareTask.objects.filter(course=course, kind=TaskKind.INFUSION, cycle=cycle.number,
                                state=TaskState.OPEN).exclude(
            appointment_at=at, appointment_place=place).update(
            appointment_at=at, appointment_place=place)


def doses_to_order(course: TreatmentCourse,
                   events: Sequence[rules.PlanEvent]) -> list[DoseToOrder]:
    """The doses a running course still has to order, at a centre with a supplier (or with
    orders already): one per planned infusion of an open cycle, on its order's calibration day
    (else the planned day), with the deadlines of its supplier."""
    if course.state not in PLANNED_COURSE_STATES:
        return []
    orders = list(DoseOrder.objects.filter(cycle__course=course).select_related("supplier",
                                                                                "cycle"))
    supplier = default_supplier(course.centre)
    if supplier is None and not orders:
        return []
    open_cycles = {c.number: c for c in course.cycles.filter(state__in=OPEN_CYCLE_STATES)}
    doses = []
    for event in events:
        cycle = open_cycles.get(event.cycle)
        if event.kind != rules.EventKind.INFUSION or cycle is None:
            continue
        mine = [o for o in orders if o.cycle_id == cycle.pk]
        live = next((o for o in mine if o.state in LIVE_ORDER_STATES), None)
        ended = sum(1 for o in mine if o.state not in LIVE_ORDER_STATES)
        source = live.supplier if live is not None else supplier
        if source is None:
            continue
        day = calibration_day(live, course.centre) if live is not None else event.due
        doses.append(DoseToOrder(
            cycle=cycle.number, sequence=1 + ended, supplier=source.name,
            deadlines=rules.order_deadlines(day, supplier_terms(source)),
            booked=cycle.booked_date is not None))
    return doses


def withholds_per_cycle(course: TreatmentCourse) -> dict[int, int]:
    """How many times each cycle of the course was withheld."""
    return dict(CycleDecision.objects.filter(cycle__course=course,
                                             decision=CycleDecision.Decision.WITHHOLD)
                .values("cycle__number").annotate(n=Count("id"))
                .values_list("cycle__number", "n"))


def rebooks_for(course: TreatmentCourse, withholds: Mapping[int, int]) -> list[Rebook]:
    """The withheld cycles of a running course, each with its recheck day: the navigator rebooks
    the infusion (the booking closes the task). `withholds` counts each cycle's withholds."""
    if course.state not in (CourseState.APPROVED, CourseState.ACTIVE):
        return []
    rebooks = []
    for cycle in course.cycles.filter(state=CycleState.WITHHELD).prefetch_related("decisions"):
        latest = last_withhold(cycle)
        if latest is None:
            continue
        recheck = recheck_day(cycle, latest)
        categories = ", ".join(latest.categories) or "toxicity"
        rebooks.append(Rebook(
            cycle=cycle.number, sequence=withholds[cycle.number], recheck=recheck,
            note=f"Cycle {cycle.number} was withheld ({categories}): repeat the labs and rebook "
                 f"the infusion (recheck from {recheck:%d %b %Y}; a delay of 16 weeks or more "
                 "ends the course)."))
    return rebooks


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


