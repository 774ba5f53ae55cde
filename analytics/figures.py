"""The coordination figures, computed from the records and their event rows (never from
counters kept by hand), each for a :class:`~analytics.period.Scope`: a centre (or a referring
practice's own patients), a period of whole months and optionally one referring practice.

Every figure aggregates in the database in a fixed number of queries whatever the centre's
size (analytics.sql.grouped), and has a companion ``*_cases`` function listing the cases behind
one of its numbers, for the drill-down. Days are calendar days in the scope's time zone. Here:
the course (referral to first dose, slippage, dose changes, LAR timing) and the list of every
figure; what follows the course and what it costs is in analytics.followup."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery

import rules
from analytics import followup
from analytics.period import Scope, month_key, month_label
from analytics.shapes import (
    Case,
    Column,
    Figure,
    Row,
    Series,
    UnknownBar,
    month_of,
    split_key,
    stats_columns,
    stats_of,
)
from analytics.sql import (
    DaysBetween,
    grouped,
    local_day,
    local_month,
    monthly_counts,
    not_negative,
)
from prrt.models import MAX_CYCLES, Administration, CourseEvent, CourseState, CycleDecision
from referrals.models import ReferralState

FULL = Decimal("7.40")
REDUCED = Decimal("3.70")
LAR_EARLIEST = dt.timedelta(hours=4)
LAR_LATEST = dt.timedelta(hours=24)
LATE_AFTER_DAYS = 7  # a cycle given more than a week after its due day (outside 49-63 days)


# --- referral to first dose ---------------------------------------------------------------------

STEPS = {"review": "Referral to review decision", "consult": "Review decision to consult",
         "dose": "Consult to first dose", "total": "Referral to first dose"}


def _first_doses(scope: Scope) -> QuerySet[Administration]:
    """The first doses given in the period, with their referral's submission and acceptance
    (its event rows: each happens once in a referral's life) and its consult."""
    events = "cycle__course__referral__events"
    return (Administration.objects
            .filter(scope.patients("cycle__course__patient"), scope.during("administered_at"),
                    cycle__number=1)
            .annotate(submit=FilteredRelation(events, condition=Q(**{
                          f"{events}__transition": "submit"})),
                      accept=FilteredRelation(events, condition=Q(**{
                          f"{events}__target": ReferralState.ACCEPTED})))
            .annotate(submitted=F("submit__at"), reviewed=F("accept__at"),
                      consult=F("cycle__course__referral__consult_at"),
                      month=local_month("administered_at", scope.tz)))


def _step_days(scope: Scope) -> dict:
    def day(name: str):
        return local_day(name, scope.tz)

    return {"review": not_negative(DaysBetween(day("reviewed"), day("submitted"))),
            "consult": not_negative(DaysBetween(day("consult"), day("reviewed"))),
            "dose": not_negative(DaysBetween(day("administered_at"), day("consult"))),
            "total": not_negative(DaysBetween(day("administered_at"), day("submitted")))}


def referral_to_first_dose(scope: Scope) -> Figure:
    """Referral → review decision → consult → first dose, per month of the first dose: the
    cases and the median and interquartile range of each step, in days."""
    found = grouped(_first_doses(scope), group=("month",), samples=_step_days(scope))
    rows = []
    for month in scope.months:
        got = found.get((month,), {})
        for step, label in STEPS.items():
            if step != "total" and not got:
                continue  # a month without a first dose: its one (empty) row is the whole's
            rows.append(Row(f"{month_key(month)}:{step}", (month_label(month), label),
                            {"n": got.get(f"{step}_n", 0), **stats_of(got, step)},
                            in_chart=step == "total"))
    return Figure(
        "referral-to-first-dose", "Referral to first dose",
        "Each patient whose first dose was given in the month: the days from the referral's "
        "first submission to the specialist's acceptance, from there to the consult, from the "
        "consult to the first dose, and in all. The chart shows the whole interval (median, "
        "with the interquartile range as a line); a month without a first dose has that row "
        "only.",
        ("Month", "Step"), (Column("n", "Patients", drill=True), *stats_columns("days", "n")),
        rows, (Series("median", "q1", "q3"),), "days")


def referral_to_first_dose_cases(scope: Scope, row: str, column: str) -> list[Case]:
    month, step = split_key(row, 2)
    if step not in STEPS or column != "n":
        raise UnknownBar(row)
    values = (_first_doses(scope).annotate(days=_step_days(scope)[step])
              .filter(month=month_of(month), days__isnull=False)
              .values_list("cycle__course__patient_id", "administered_at", "days"))
    return [Case(patient, at.astimezone(scope.tz).date(), f"{STEPS[step]}: {days} days")
            for patient, at, days in values]


# --- cycle slippage -----------------------------------------------------------------------------


def _given(scope: Scope) -> QuerySet[Administration]:
    return (Administration.objects
            .filter(scope.patients("cycle__course__patient"), scope.during("administered_at"))
            .annotate(number=F("cycle__number"),
                      slip=DaysBetween(local_day("administered_at", scope.tz),
                                       F("cycle__due_date"))))


def cycle_slippage(scope: Scope) -> Figure:
    """Each cycle given in the period: the days between its due day (the previous dose + 56
    days; cycle 1: the planned first dose) and the day it was given, per cycle number."""
    found = grouped(_given(scope), group=("number",), samples={"slip": F("slip")},
                    counts={"n": Count("pk"),
                            "late": Count("pk", filter=Q(slip__gt=LATE_AFTER_DAYS))})
    rows = []
    for cycle in range(1, MAX_CYCLES + 1):
        got = found.get((cycle,), {})
        rows.append(Row(str(cycle), (f"Cycle {cycle}",),
                        {"n": got.get("n", 0), **stats_of(got, "slip"),
                         "late": got.get("late", 0)}))
    return Figure(
        "cycle-slippage", "Cycle slippage: given against due",
        "Each infusion given in the period: the days after its due day (the previous dose + "
        "56 days; for cycle 1 the planned first dose) that it was given; negative: early. "
        f"Late: given more than {LATE_AFTER_DAYS} days after the due day.",
        ("Cycle",),
        (Column("n", "Given", drill=True), *stats_columns("days after due", "n"),
         Column("late", f"More than {LATE_AFTER_DAYS} days late", drill=True)),
        rows, (Series("median", "q1", "q3"),), "days after due")


def cycle_slippage_cases(scope: Scope, row: str, column: str) -> list[Case]:
    if row not in {str(n) for n in range(1, MAX_CYCLES + 1)} \
            or column not in ("n", "late"):
        raise UnknownBar(row)
    given = _given(scope).filter(number=int(row))
    if column == "late":
        given = given.filter(slip__gt=LATE_AFTER_DAYS)
    return [Case(patient, at.astimezone(scope.tz).date(), f"{slip} days after the due day")
            for patient, at, slip in given.values_list("cycle__course__patient_id",
                                                        "administered_at", "slip")]


# --- withholds, reductions, re-escalations, discontinuations ------------------------------------

CATEGORY_LABELS = {str(c): str(c).capitalize() for c in rules.Category}
NOT_RECORDED = "not_recorded"
CATEGORY_LABELS[NOT_RECORDED] = "No category recorded"
MODIFICATIONS = {"withheld": "Withheld", "reduced": "Reduced to 3.7 GBq",
                 "escalated": "Re-escalated to 7.4 GBq", "discontinued": "Discontinued"}


@dataclass(frozen=True)
class _Modification:
    kind: str
    categories: tuple[str, ...]
    patient_id: int
    at: dt.datetime


def _as_list(value) -> list:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _categories(values: Iterable[str]) -> tuple[str, ...]:
    found = tuple(sorted({str(v) for v in values if str(v) in CATEGORY_LABELS}))
    return found or (NOT_RECORDED,)


def _modifications(scope: Scope) -> list[_Modification]:
    """Three queries: the withholds; the approvals at 3.7 GBq and those at 7.4 GBq after one at
    3.7 (with the categories of the course's last withhold before them); the courses ended
    early (with the categories of their discontinue decision, else its rules' triggers)."""
    in_scope = Q(scope.patients("cycle__course__patient")) & scope.during("decided_at")
    found = [_Modification("withheld", _categories(_as_list(categories)), patient, at)
             for categories, patient, at in CycleDecision.objects.filter(
                 in_scope, decision=CycleDecision.Decision.WITHHOLD)
             .values_list("categories", "cycle__course__patient_id", "decided_at")]
    earlier = CycleDecision.objects.filter(
        cycle__course_id=OuterRef("cycle__course_id"),
        decided_at__lt=OuterRef("decided_at")).order_by("-decided_at", "-id")
    reduced = CycleDecision.objects.filter(decision=CycleDecision.Decision.APPROVE,
                                           activity_gbq=REDUCED).values("cycle__course_id")
    approvals = (CycleDecision.objects.filter(in_scope, decision=CycleDecision.Decision.APPROVE)
                 .annotate(previous=Subquery(earlier.filter(
                           decision=CycleDecision.Decision.APPROVE).values("activity_gbq")[:1]),
                           withheld=Subquery(earlier.filter(
                               decision=CycleDecision.Decision.WITHHOLD).values("categories")[:1]))
                 # A re-escalation needs a reduced dose before it in its course: only the
                 # courses with one are looked at for it.
                 .filter(Q(activity_gbq=REDUCED)
                         | Q(activity_gbq=FULL, cycle__course_id__in=reduced, previous=REDUCED))
                 .values_list("activity_gbq", "withheld", "cycle__course__patient_id",
                              "decided_at"))
    found += [_Modification("reduced" if activity == REDUCED else "escalated",
                            _categories(_as_list(withheld)), patient, at)
              for activity, withheld, patient, at in approvals]
    decision = CycleDecision.objects.filter(
        cycle__course_id=OuterRef("course_id"),
        decision=CycleDecision.Decision.DISCONTINUE).order_by("-decided_at", "-id")
    ended = (CourseEvent.objects
             .filter(scope.patients("course__patient"), scope.during("at"),
                     target=CourseState.DISCONTINUED, cycle__isnull=True)
             .annotate(decided=Subquery(decision.values("categories")[:1]),
                       triggers=Subquery(decision.values("recommendation__triggers")[:1]))
             .values_list("transition", "decided", "triggers", "course__patient_id", "at"))
    for transition, decided, triggers, patient, at in ended:
        named = _as_list(decided) or [t.get("category") for t in _as_list(triggers)
                                      if isinstance(t, dict)]
        if not named and transition == "discontinue_for_hypersensitivity":
            named = [str(rules.Category.HYPERSENSITIVITY)]
        found.append(_Modification("discontinued", _categories(named), patient, at))
    return found


def dose_modifications(scope: Scope) -> Figure:
    """Withholds, reductions to 3.7 GBq, re-escalations to 7.4 GBq and discontinuations decided
    in the period, by dose-modification category."""
    counts: Counter[tuple[str, str]] = Counter()
    for found in _modifications(scope):
        for category in found.categories:
            counts[category, found.kind] += 1
    categories = [str(c) for c in rules.Category]
    if any(category == NOT_RECORDED for category, _ in counts):
        categories.append(NOT_RECORDED)
    rows = [Row(category, (CATEGORY_LABELS[category],),
                {kind: counts[category, kind] for kind in MODIFICATIONS})
            for category in categories]
    return Figure(
        "dose-modifications", "Withholds, reductions, re-escalations and discontinuations",
        "Decisions taken in the period, by dose-modification category: a withhold by the "
        "categories it names; a reduction to 3.7 GBq and a re-escalation to 7.4 GBq by the "
        "categories of the course's last withhold before it; a discontinuation by the categories "
        "of its decision (a hypersensitivity reaction at the infusion, when that ended it). A "
        "decision naming two categories counts in both.",
        ("Category",), tuple(Column(kind, label, drill=True)
                             for kind, label in MODIFICATIONS.items()),
        rows, tuple(Series(kind) for kind in MODIFICATIONS), "decisions")


def dose_modifications_cases(scope: Scope, row: str, column: str) -> list[Case]:
    if row not in CATEGORY_LABELS or column not in MODIFICATIONS:
        raise UnknownBar(row)
    return [Case(m.patient_id, m.at.astimezone(scope.tz).date(),
                 f"{MODIFICATIONS[m.kind]}: {', '.join(CATEGORY_LABELS[c] for c in m.categories)}")
            for m in _modifications(scope) if m.kind == column and row in m.categories]


# --- LAR after the infusion ---------------------------------------------------------------------

_LAR = {
    "within": Q(lar_injected_at__gte=F("administered_at") + LAR_EARLIEST,
                lar_injected_at__lte=F("administered_at") + LAR_LATEST),
    "early": Q(lar_injected_at__lt=F("administered_at") + LAR_EARLIEST),
    "late": Q(lar_injected_at__gt=F("administered_at") + LAR_LATEST),
    "missing": Q(lar_injected_at__isnull=True),
}


def _infusions(scope: Scope) -> QuerySet[Administration]:
    return (Administration.objects
            .filter(scope.patients("cycle__course__patient"), scope.during("administered_at"))
            .annotate(month=local_month("administered_at", scope.tz)))


def lar_timing(scope: Scope) -> Figure:
    """The octreotide LAR injection after each infusion given in the period: within 4-24 h
    (both included), earlier, later, or not recorded; per month."""
    rows = monthly_counts(_infusions(scope), scope.months, _LAR)
    return Figure(
        "lar-timing", "LAR injections after the infusion",
        "Each infusion given in the month and its octreotide LAR injection: 4 to 24 hours after "
        "the infusion (the label's window, both ends included), earlier, later, or none "
        "recorded.",
        ("Month",),
        (Column("n", "Infusions", parts=tuple(_LAR), drill=True),
         Column("within", "LAR 4-24 h after", drill=True),
         Column("early", "LAR under 4 h after", drill=True),
         Column("late", "LAR over 24 h after", drill=True),
         Column("missing", "No LAR recorded", drill=True)),
        rows, (Series("early"), Series("late"), Series("missing")), "infusions")


def lar_timing_cases(scope: Scope, row: str, column: str) -> list[Case]:
    if column not in ("n", *_LAR):
        raise UnknownBar(column)
    infusions = _infusions(scope).filter(month=month_of(row))
    if column != "n":
        infusions = infusions.filter(_LAR[column])
    return [Case(patient, at.astimezone(scope.tz).date(), _lar_detail(at, lar))
            for patient, at, lar in infusions.values_list(
                "cycle__course__patient_id", "administered_at", "lar_injected_at")]


def _lar_detail(given: dt.datetime, lar: dt.datetime | None) -> str:
    if lar is None:
        return "No LAR recorded"
    minutes = round((lar - given).total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    when = "after" if minutes >= 0 else "before"
    return f"LAR {hours} h {rest:02d} min {when} the infusion"


# --- the dashboard's figures, in order ----------------------------------------------------------


@dataclass(frozen=True)
class FigureSpec:
    compute: Callable[[Scope], Figure]
    cases: Callable[[Scope, str, str], list[Case]] | None


FIGURES: dict[str, FigureSpec] = {
    "referral-to-first-dose": FigureSpec(referral_to_first_dose, referral_to_first_dose_cases),
    "cycle-slippage": FigureSpec(cycle_slippage, cycle_slippage_cases),
    "dose-modifications": FigureSpec(dose_modifications, dose_modifications_cases),
    "lar-timing": FigureSpec(lar_timing, lar_timing_cases),
    "maintenance-injections": FigureSpec(followup.maintenance_injections,
                                         followup.maintenance_injections_cases),
    "overdue-tasks": FigureSpec(followup.overdue_tasks, followup.overdue_tasks_cases),
    "referral-back": FigureSpec(followup.referral_back, followup.referral_back_cases),
    "order-losses": FigureSpec(followup.order_losses, followup.order_losses_cases),
    "econsult-response": FigureSpec(followup.econsult_response, None),
}


def all_figures(scope: Scope) -> list[Figure]:
    return [spec.compute(scope) for spec in FIGURES.values()]
