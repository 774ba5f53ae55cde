"""The timed obligations of a course (§3), recomputed from the doses actually given.

Day 0 is the day of an infusion. A planned cycle is due 56 days after the previous infusion
(window 49–63 days), counted from the actual date when that infusion was given and from its due
date when it is still planned, so a delayed cycle moves everything after it. Every event has an
``earliest`` ≤ ``due`` ≤ ``latest`` date:

- ``ssa_washout``: the last long-acting SSA injection before the dose; ``due`` is the last day
  without a warning (30 days before the earliest possible dose day), ``latest`` the last day
  allowed (28 days); ``earliest`` equals ``due``.
- ``pre_dose_labs``: within 14 days before the dose, aimed 7 days before it, never inside the
  previous infusion's precaution window; the day of the dose itself (before the infusion) is fine.
  A centre that orders its doses aims them before the supplier's free-cancellation deadline
  (``pre_dose_labs_by_days_before``: the event is due then, and still met up to the dose);
  ``confirmatory_labs`` (optional) the day before the dose.
- ``infusion``: the dose; an actual dose has one date, a booked one its booked date, a planned one
  its 49–63 day window. A cycle after a booked one counts from the booked date.
- ``lar_injection``: octreotide LAR 30 mg IM 4–24 h after the infusion (day 0 or day 1).
- ``radiation_precautions`` and ``no_routine_bloods``: day 0 through day 7 (configurable).
- ``imaging``: CT or MRI every 3 months from the first dose, mid-course included.
- ``post_course_labs``: 35 days after the last dose; ``sstr_pet``: not sooner than 3 months after
  the last dose; ``lar_maintenance``: octreotide LAR 30 mg every 4 weeks after the course until
  progression or 18 months after the first dose.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .config import DEFAULT_CONFIG, RulesConfig
from .errors import RulesInputError
from .explain import fmt
from .inputs import Dose, validate_doses


class EventKind(StrEnum):
    SSA_WASHOUT = "ssa_washout"
    PRE_DOSE_LABS = "pre_dose_labs"
    CONFIRMATORY_LABS = "confirmatory_labs"
    INFUSION = "infusion"
    LAR_INJECTION = "lar_injection"
    RADIATION_PRECAUTIONS = "radiation_precautions"
    NO_ROUTINE_BLOODS = "no_routine_bloods"
    IMAGING = "imaging"
    POST_COURSE_LABS = "post_course_labs"
    SSTR_PET = "sstr_pet"
    LAR_MAINTENANCE = "lar_maintenance"


ROUTINE_BLOOD_KINDS = frozenset({EventKind.PRE_DOSE_LABS, EventKind.POST_COURSE_LABS})
_KIND_ORDER = {kind: index for index, kind in enumerate(EventKind)}


class Basis(StrEnum):
    ACTUAL = "actual"
    PLANNED = "planned"


@dataclass(frozen=True)
class PlanEvent:
    """One timed obligation: what, for which cycle (None when not tied to one), its dates, whether
    it rests on an actual dose date or a planned one, and a sentence saying what to do."""

    kind: EventKind
    cycle: int | None
    earliest: dt.date
    due: dt.date
    latest: dt.date
    basis: Basis
    note: str


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def course_plan(
    first_dose_date: dt.date,
    doses: Sequence[Dose] = (),
    config: RulesConfig = DEFAULT_CONFIG,
    *,
    course_ended: bool = False,
    bookings: Mapping[int, dt.date] | None = None,
) -> tuple[PlanEvent, ...]:
    """Every timed obligation of the course, ordered by due date.

    ``doses`` are the doses given so far, in order; the first must be on ``first_dose_date``.
    ``bookings`` are the days booked for cycles not given yet ({cycle: day}); a booked cycle is
    planned on its day and the cycles after it count from it. With ``course_ended``
    (discontinued, or stopped early) no further infusion is planned and the follow-up counts
    from the last dose given.
    """
    if isinstance(first_dose_date, dt.datetime) or not isinstance(first_dose_date, dt.date):
        raise RulesInputError("first_dose_date", "must be a date")
    doses = tuple(doses)
    validate_doses(doses, "doses", config.max_cycles)
    if doses and doses[0].date != first_dose_date:
        raise RulesInputError("doses[0].date", f"the first dose ({doses[0].date}) must be on "
                              f"first_dose_date ({first_dose_date})")
    if course_ended and not doses:
        raise RulesInputError("course_ended", "a course can only end after a dose was given")
    bookings = dict(bookings or {})
    for cycle, day in sorted(bookings.items()):
        if not isinstance(cycle, int) or not len(doses) < cycle <= config.max_cycles:
            raise RulesInputError(f"bookings[{cycle}]", "only a cycle not given yet is booked")
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise RulesInputError(f"bookings[{cycle}]", "must be a date")
        if doses and day <= doses[-1].date:
            raise RulesInputError(f"bookings[{cycle}]",
                                  f"{day} is not after the last dose ({doses[-1].date})")

    infusions = _infusions(first_dose_date, doses, config, course_ended, bookings)
    events: list[PlanEvent] = []
    previous: PlanEvent | None = None
    for infusion in infusions:
        events.extend(_cycle_events(infusion, previous, config))
        previous = infusion
    events.extend(_follow_up(infusions[0], infusions[-1], config))
    events.sort(key=lambda e: (e.due, e.earliest, _KIND_ORDER[e.kind], e.cycle or 0))
    return tuple(events)


def _infusions(first: dt.date, doses: tuple[Dose, ...], config: RulesConfig,
               course_ended: bool, bookings: Mapping[int, dt.date]) -> list[PlanEvent]:
    infusions: list[PlanEvent] = []
    for cycle in range(1, config.max_cycles + 1):
        if cycle <= len(doses):
            day = doses[cycle - 1].date
            infusions.append(PlanEvent(
                EventKind.INFUSION, cycle, day, day, day, Basis.ACTUAL,
                f"Cycle {cycle}: {fmt(doses[cycle - 1].activity_gbq)} GBq given."))
        elif course_ended:
            break
        elif cycle in bookings:
            day = bookings[cycle]
            if infusions and day <= infusions[-1].due:
                raise RulesInputError(f"bookings[{cycle}]", f"{day} is not after cycle "
                                      f"{cycle - 1} ({infusions[-1].due})")
            infusions.append(PlanEvent(
                EventKind.INFUSION, cycle, day, day, day, Basis.PLANNED,
                f"Cycle {cycle}: booked for {day:%d %b %Y}; the dose is decided before the "
                "infusion (antiemetic, amino acids, observation as for every cycle)."))
        elif cycle == 1:
            infusions.append(PlanEvent(EventKind.INFUSION, 1, first, first, first, Basis.PLANNED,
                                       _infusion_note(1, config)))
        else:
            base = infusions[-1].due
            infusions.append(PlanEvent(
                EventKind.INFUSION, cycle, _days(base, config.cycle_window_early_days),
                _days(base, config.cycle_interval_days), _days(base, config.cycle_window_late_days),
                Basis.PLANNED, _infusion_note(cycle, config)))
    return infusions


def _infusion_note(cycle: int, config: RulesConfig) -> str:
    return (f"Cycle {cycle}: {config.full_activity_gbq} GBq unless the dose decision says "
            "otherwise; antiemetic first, amino acids (lysine + arginine) from 30 min before, "
            "during and about 3 h after; observe at least 2 h for hypersensitivity.")


def _cycle_events(infusion: PlanEvent, previous: PlanEvent | None,
                  config: RulesConfig) -> list[PlanEvent]:
    cycle, day, basis = infusion.cycle, infusion.due, infusion.basis
    washout_due = _days(infusion.earliest, -config.ssa_washout_warn_days)
    labs_earliest = _days(day, -config.pre_dose_lab_window_days)
    if previous is not None:
        labs_earliest = max(labs_earliest, _days(previous.due, config.precaution_days + 1))
    labs_due = max(labs_earliest, _days(day, -config.pre_dose_labs_due_days_before))
    # Ordered doses: aimed so the results are known by the free-cancellation deadline; drawn
    # later (up to the dose) they still count, with a charge if the dose is then cancelled.
    labs_by = _days(day, -config.pre_dose_labs_by_days_before)
    labs_due, labs_earliest = min(labs_due, labs_by), min(labs_earliest, labs_by)
    window_end = _days(day, config.precaution_days)
    confirmatory = []
    if config.confirmatory_labs_day_before:
        day_before = _days(day, -1)
        confirmatory.append(PlanEvent(
            EventKind.CONFIRMATORY_LABS, cycle, day_before, day_before, day, basis,
            f"Confirmatory labs before cycle {cycle}: CBC with differential, creatinine and "
            "bilirubin the day before the dose (or the morning of it)."))
    return [
        PlanEvent(EventKind.SSA_WASHOUT, cycle, washout_due, washout_due,
                  _days(infusion.earliest, -config.ssa_washout_block_days), basis,
                  f"Last long-acting SSA (octreotide LAR, lanreotide) injection before cycle "
                  f"{cycle}: at least {config.ssa_washout_block_days} days before the dose "
                  f"(warning under {config.ssa_washout_warn_days}); no short-acting octreotide "
                  f"in the {config.short_acting_ssa_gap_hours} h before it."),
        PlanEvent(EventKind.PRE_DOSE_LABS, cycle, labs_earliest, labs_due, day, basis,
                  f"Labs before cycle {cycle}: CBC with differential; creatinine, BUN, albumin, "
                  "ALP, AST, ALT, total bilirubin. Many centres repeat them the day before or "
                  "the day of the dose."),
        *confirmatory,
        infusion,
        PlanEvent(EventKind.LAR_INJECTION, cycle, day, day, _days(day, 1), basis,
                  f"Octreotide LAR 30 mg IM 4–24 h after the cycle {cycle} infusion."),
        PlanEvent(EventKind.RADIATION_PRECAUTIONS, cycle, day, day, window_end, basis,
                  f"Radiation-safety precautions for {config.precaution_days} days after the "
                  "infusion, given in writing (separate bed, distance, hygiene, no sexual "
                  "intercourse, limited contact with children and pregnant women)."),
        PlanEvent(EventKind.NO_ROUTINE_BLOODS, cycle, day, day, window_end, basis,
                  "No routine blood draws in the precaution window after the infusion."),
    ]


def _follow_up(first: PlanEvent, last: PlanEvent, config: RulesConfig) -> list[PlanEvent]:
    tolerance = config.follow_up_tolerance_days
    end = add_months(first.due, config.lar_maintenance_months)
    events: list[PlanEvent] = []
    after_course = False
    months = config.imaging_interval_months
    while (due := add_months(first.due, months)) <= end:
        note = "CT or MRI for tumour assessment"
        if due <= last.due:
            note += " (mid-course)."
        elif not after_course:
            after_course = True
            note += (" (first after the course): pseudoprogression is possible, this scan alone "
                     "never defines progression.")
        else:
            note += "."
        basis = first.basis if due <= last.due else last.basis
        events.append(PlanEvent(EventKind.IMAGING, None, _days(due, -tolerance), due,
                                _days(due, tolerance), basis, note))
        months += config.imaging_interval_months

    labs_due = _days(last.due, config.post_course_labs_days)
    events.append(PlanEvent(
        EventKind.POST_COURSE_LABS, None, labs_due, labs_due, _days(labs_due, tolerance),
        last.basis, f"Labs {config.post_course_labs_days} days after the last dose; results to "
        "the NET specialist."))
    pet_due = add_months(last.due, config.post_treatment_pet_months)
    events.append(PlanEvent(
        EventKind.SSTR_PET, None, pet_due, pet_due, _days(pet_due, tolerance), last.basis,
        f"Post-treatment SSTR PET not sooner than {config.post_treatment_pet_months} months "
        "after the last dose."))
    step, slack = config.lar_maintenance_interval_days, config.lar_maintenance_tolerance_days
    every = f"{step // 7} weeks" if step % 7 == 0 else f"{step} days"
    due = _days(last.due, step)
    while due <= end:
        events.append(PlanEvent(
            EventKind.LAR_MAINTENANCE, None, _days(due, -slack), due, min(_days(due, slack), end),
            last.basis, f"Octreotide LAR 30 mg IM every {every} until progression or "
            f"{end} ({config.lar_maintenance_months} months after the first dose)."))
        due = _days(due, step)
    return events
