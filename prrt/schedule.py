"""When each cycle happens: one plan for the course, from the doses given and the bookings.

The rules (``rules.course_plan``) plan a cycle 56 days after the dose before it. Here the record
gives them their anchors: the doses given, the days booked for cycles not given yet, and for a
withheld cycle that nobody has rebooked yet, its recheck day (``NETCARE_WITHHELD_RECHECK_DAYS``
after the decision to withhold, never sooner than 49 days after the last dose). Every page, the
care tasks, the calendar feed and the PDFs read the same dates: :func:`cycle_dates_sync` writes the
plan's infusion day into each open cycle's ``planned_date``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings

import rules
from netcare.clock import local_date
from prrt import clinical
from prrt.models import (
    OPEN_CYCLE_STATES,
    CourseState,
    Cycle,
    CycleDecision,
    CycleState,
    TreatmentCourse,
)

PLANNED_COURSE_STATES = (CourseState.APPROVED, CourseState.ACTIVE, CourseState.COMPLETED,
                         CourseState.DISCONTINUED)


def _days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def last_withhold(cycle: Cycle) -> CycleDecision | None:
    withholds = [d for d in cycle.decisions.all() if d.decision == CycleDecision.Decision.WITHHOLD]
    return max(withholds, key=lambda d: (d.decided_at, d.pk), default=None)


def recheck_day(cycle: Cycle, decision: CycleDecision) -> dt.date:
    """When a withheld cycle is looked at again: the recheck after the decision."""
    decided_on = local_date(decision.decided_at, cycle.course.centre)
    return _days(decided_on, settings.NETCARE_WITHHELD_RECHECK_DAYS)


def booked_since_withhold(cycle: Cycle, decision: CycleDecision | None) -> bool:
    """The cycle's booking stands: made after its latest withhold (or it was never withheld)."""
    if cycle.booked_date is None:
        return False
    return decision is None or (cycle.booked_at is not None
                                and cycle.booked_at > decision.decided_at)


def _anchors(course: TreatmentCourse, cycles: Sequence[Cycle], doses: Sequence[rules.Dose],
             config: rules.RulesConfig) -> tuple[dict[int, dt.date], bool]:
    """The bookings the rules plan around, and whether no further cycle will be given."""
    bookings: dict[int, dt.date] = {}
    previous = doses[-1].date if doses else None
    for cycle in cycles:
        if cycle.number <= len(doses):
            continue
        if cycle.state == CycleState.CANCELLED:
            return bookings, True
        withhold = last_withhold(cycle)
        day = None
        if booked_since_withhold(cycle, withhold):
            day = cycle.booked_date
        elif withhold is not None:
            day = recheck_day(cycle, withhold)
            if previous is not None:
                day = max(day, _days(previous, config.cycle_window_early_days))
        elif cycle.number == 1:
            day = course.planned_first_dose
        if day is not None:
            if previous is not None and day <= previous:
                day = _days(previous, config.cycle_window_early_days)
            bookings[cycle.number] = day
            previous = day
        elif previous is not None:
            previous = _days(previous, config.cycle_interval_days)
    return bookings, False


def course_plan_events(course: TreatmentCourse, *, cycles: Sequence[Cycle] | None = None,
                       history: clinical.CourseHistory | None = None,
                       ) -> tuple[rules.PlanEvent, ...]:
    """The course's plan as the rules compute it from the record; empty when the course has no
    plan (not approved, or ended before a dose was given). `cycles` (decisions prefetched,
    administration joined) and `history` spare reading them again when the caller has them."""
    if course.state not in PLANNED_COURSE_STATES:
        return ()
    config = clinical.rules_config(course.centre)
    if history is None:
        history = clinical.course_history(course, cycles)
    doses = list(history.doses)
    ended = course.state in (CourseState.COMPLETED, CourseState.DISCONTINUED)
    cycles = (list(course.cycles.prefetch_related("decisions").order_by("number"))
              if cycles is None else sorted(cycles, key=lambda cycle: cycle.number))
    bookings, no_more = ({}, True) if ended else _anchors(course, cycles, doses, config)
    if no_more or ended:
        if not doses:
            return ()
        return rules.course_plan(doses[0].date, doses, config, course_ended=True)
    first = doses[0].date if doses else bookings.get(1, course.planned_first_dose)
    return rules.course_plan(first, doses, config, bookings=bookings)


def infusion_days(events: Sequence[rules.PlanEvent]) -> dict[int, dt.date]:
    return {e.cycle: e.due for e in events if e.kind == rules.EventKind.INFUSION and e.cycle}


def cycle_dates_sync(course: TreatmentCourse,
                     events: Sequence[rules.PlanEvent] | None = None) -> int:
    """Write the plan's infusion day into each open cycle (``planned_date``) and the day 56 days
    after the dose or plan date before it (``due_date``); returns how many cycles changed."""
    events = course_plan_events(course) if events is None else events
    days = infusion_days(events)
    config = clinical.rules_config(course.centre)
    changed = 0
    for cycle in course.cycles.filter(state__in=OPEN_CYCLE_STATES).order_by("number"):
        planned = days.get(cycle.number)
        if planned is None:
            continue
        before = days.get(cycle.number - 1)
        due = (_days(before, config.cycle_interval_days) if before is not None
               else course.planned_first_dose)
        if (cycle.planned_date, cycle.due_date) != (planned, due):
            changed += Cycle.objects.filter(pk=cycle.pk).update(planned_date=planned,
                                                                 due_date=due)
    return changed
