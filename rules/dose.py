"""The dose decision before each cycle (§4.4), evaluated in the label's order.

1. hypersensitivity grade 3–4 → DISCONTINUE;
2. a trigger in a category that occurred in an earlier episode → DISCONTINUE (recurrence);
3. a trigger present, or a withheld category only now resolved, 112 days or more after the dose
   was due → DISCONTINUE (day 111 resolved → RESUME_REDUCED, day 112 → DISCONTINUE);
4. any trigger → WITHHOLD (recheck labs every 1–2 weeks);
5. no trigger and a withheld category awaiting resolution → RESUME_REDUCED at 3.7 GBq;
6. no trigger and the previous dose was reduced → REESCALATE to 7.4 GBq;
7. otherwise → PROCEED at 7.4 GBq.
After the last cycle of a course (4 by default) there is no next dose: NO_FURTHER_DOSE.

Failing safe (§4.5): the decision panel (platelets, haemoglobin, neutrophils, creatinine with sex,
age and weight, bilirubin with its ULN, albumin, and the prothrombin ratio whenever albumin is
below 30 g/L) must be complete. When it is not, ``complete`` is False and ``missing_inputs``
names what is missing by field path; the action is still computed from what is there, but the
first reason says "No recommendation yet" and never presents it. ``needs_review`` holds every
rule that could not be evaluated or that a person must look at; ``warnings`` the timing
warnings (a dose under 49 days after the previous one, a non-toxic delay past 63 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from .config import DEFAULT_CONFIG, RulesConfig, SixteenWeekMode
from .ctcae import CtcaeGrade
from .errors import RulesInputError
from .explain import Finding, Severity, fmt
from .inputs import Category, Dose, DoseInput, validate_doses
from .renal import CreatinineClearance
from .triggers import INPUT_NAMES, Trigger, evaluate_triggers


class Action(StrEnum):
    PROCEED = "PROCEED"
    WITHHOLD = "WITHHOLD"
    RESUME_REDUCED = "RESUME_REDUCED"
    REESCALATE = "REESCALATE"
    DISCONTINUE = "DISCONTINUE"
    NO_FURTHER_DOSE = "NO_FURTHER_DOSE"


@dataclass(frozen=True)
class DoseDecision:
    """The recommendation and everything it rests on.

    ``cycle`` is the cycle being decided (None after the last one); ``due_date`` is the previous
    dose + 56 days; ``delay_days`` counts days past it (None when not late); ``code`` names the
    §4.4 step that decided; ``withheld_categories``/``occurred_categories`` are the course's
    lists after acting on the recommendation.
    """

    action: Action
    activity_gbq: Decimal | None
    cycle: int | None
    code: str
    triggers: tuple[Trigger, ...]
    grades: tuple[CtcaeGrade, ...]
    crcl: CreatinineClearance | None
    baseline_crcl: CreatinineClearance | None
    due_date: dt.date | None
    delay_days: int | None
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...]
    withheld_categories: frozenset[Category]
    occurred_categories: frozenset[Category]
    missing_inputs: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()

    @property
    def trigger_categories(self) -> tuple[Category, ...]:
        return tuple(sorted({t.category for t in self.triggers}))

    @property
    def complete(self) -> bool:
        """Whether the decision panel was complete (§4.5): only then is the action a
        recommendation."""
        return not self.missing_inputs

    @property
    def needs_review(self) -> tuple[Finding, ...]:
        """Every rule that could not be evaluated or that a person must look at."""
        return tuple(f for f in self.findings if f.severity is Severity.REVIEW)


def is_reduced(dose: Dose, config: RulesConfig = DEFAULT_CONFIG) -> bool:
    """A dose counts as reduced when its activity is nearer 3.7 than 7.4 GBq (administered
    activities vary a little around the prescribed one)."""
    midpoint = Fraction(config.full_activity_gbq + config.reduced_activity_gbq) / 2
    return dose.activity_gbq < midpoint


def dose_decision(
    inp: DoseInput, assessment_date: dt.date, config: RulesConfig = DEFAULT_CONFIG
) -> DoseDecision:
    """Recommend the next dose from the pre-dose labs, adverse events and course so far."""
    if isinstance(assessment_date, dt.datetime) or not isinstance(assessment_date, dt.date):
        raise RulesInputError("assessment_date", "must be a date")
    course = inp.course
    validate_doses(course.doses, "course.doses", config.max_cycles)
    previous = course.doses[-1] if course.doses else None
    if previous is not None and assessment_date < previous.date:
        raise RulesInputError("assessment_date", f"{assessment_date} is before the last dose "
                              f"({previous.date})")
    findings: list[Finding] = []
    if inp.labs_date is not None:
        if inp.labs_date > assessment_date:
            raise RulesInputError("labs_date", f"{inp.labs_date} is after the assessment date")
        age = (assessment_date - inp.labs_date).days
        if age > config.pre_dose_lab_window_days:
            findings.append(Finding(
                "DOSE.LABS_TOO_OLD", Severity.REVIEW,
                f"Labs were drawn {age} days before the assessment, more than "
                f"{config.pre_dose_lab_window_days} days: repeat them before deciding.",
                {"labs_age_days": str(age)},
                {"labs_age_days": f"≤ {config.pre_dose_lab_window_days}"}))

    evaluation = evaluate_triggers(inp, config)
    categories = evaluation.categories
    findings.extend(evaluation.findings)
    due = None if previous is None else _add_days(previous.date, config.cycle_interval_days)
    delay = None if due is None or assessment_date <= due else (assessment_date - due).days
    dose_day = inp.dose_date or assessment_date
    if inp.dose_date is not None and previous is not None and dose_day <= previous.date:
        raise RulesInputError("dose_date", f"{dose_day} is not after the last dose "
                              f"({previous.date})")
    withheld, occurred = course.withheld_categories, course.occurred_categories
    cycle: int | None = len(course.doses) + 1
    full, reduced = config.full_activity_gbq, config.reduced_activity_gbq
    names = ", ".join(sorted(categories))

    activity: Decimal | None = None
    after_withheld, after_occurred = withheld, occurred
    if len(course.doses) >= config.max_cycles:
        action, code, cycle = Action.NO_FURTHER_DOSE, "DOSE.COURSE_COMPLETE", None
        headline = (f"NO_FURTHER_DOSE: {len(course.doses)} doses given, the course has at most "
                    f"{config.max_cycles}.")
    elif Category.HYPERSENSITIVITY in categories:
        action, code = Action.DISCONTINUE, "DOSE.STEP1.HYPERSENSITIVITY"
        headline = "DISCONTINUE: grade 3–4 hypersensitivity ends the course at once."
    elif categories & occurred:
        again = ", ".join(sorted(categories & occurred))
        action, code = Action.DISCONTINUE, "DOSE.STEP2.RECURRENCE"
        headline = (f"DISCONTINUE: {again} toxicity has recurred after an earlier episode "
                    "(recurrence, even after re-escalation).")
    elif categories and (limit := _sixteen_week_limit(previous, due, config)) is not None and (
        assessment_date >= limit
    ):
        action, code = Action.DISCONTINUE, "DOSE.STEP3.SIXTEEN_WEEKS"
        headline = (f"DISCONTINUE: {names} still present on {assessment_date}, "
                    f"{_sixteen_week_text(previous, due, assessment_date, config)}.")
    elif categories:
        action, code = Action.WITHHOLD, "DOSE.STEP4.WITHHOLD"
        after_withheld = withheld | categories
        headline = (f"WITHHOLD: {names} trigger present; recheck labs every 1–2 weeks until it "
                    "resolves.")
        if limit := _sixteen_week_limit(previous, due, config):
            headline += (f" The course ends if it is still present, or first seen resolved, on "
                         f"or after {limit}." if config.sixteen_week_mode is
                         SixteenWeekMode.FROM_DUE_DATE else
                         f" The course ends if it is still present on {limit}.")
    elif withheld and config.sixteen_week_mode is SixteenWeekMode.INTERVAL and previous and (
        (assessment_date - previous.date).days > config.sixteen_week_days
    ):
        action, code = Action.DISCONTINUE, "DOSE.STEP3.SIXTEEN_WEEKS"
        headline = (f"DISCONTINUE: {', '.join(sorted(withheld))} resolved, but the interval "
                    f"since the previous dose would be {(assessment_date - previous.date).days} "
                    f"days, over {config.sixteen_week_days}.")
    elif withheld and config.sixteen_week_mode is SixteenWeekMode.FROM_DUE_DATE and (
        (limit := _sixteen_week_limit(previous, due, config)) is not None
        and assessment_date >= limit
    ):
        action, code = Action.DISCONTINUE, "DOSE.STEP3.SIXTEEN_WEEKS"
        headline = (f"DISCONTINUE: {', '.join(sorted(withheld))} first seen resolved on "
                    f"{assessment_date}, "
                    f"{_sixteen_week_text(previous, due, assessment_date, config)}, so the "
                    "dose would come after a delay of 16 weeks or more.")
    elif withheld:
        action, code, activity = Action.RESUME_REDUCED, "DOSE.STEP5.RESUME_REDUCED", reduced
        after_withheld, after_occurred = frozenset(), occurred | withheld
        headline = (f"RESUME_REDUCED at {reduced} GBq: {', '.join(sorted(withheld))} resolved; "
                    "a new trigger in that category will end the course. Amino acids are "
                    "given in full: they are never reduced with the dose.")
    elif previous is not None and is_reduced(previous, config):
        action, code, activity = Action.REESCALATE, "DOSE.STEP6.REESCALATE", full
        headline = (f"REESCALATE to {full} GBq: no trigger after the reduced dose of "
                    f"{fmt(previous.activity_gbq)} GBq.")
    else:
        action, code, activity = Action.PROCEED, "DOSE.STEP7.PROCEED", full
        headline = f"PROCEED at {full} GBq: no dose-modification trigger."

    missing = () if action is Action.NO_FURTHER_DOSE else evaluation.missing_inputs
    warnings = () if action is Action.NO_FURTHER_DOSE else _timing_warnings(
        previous, dose_day, withheld, config)
    if missing:
        headline = no_recommendation_text(missing)
    reasons = [headline, *(t.reason for t in evaluation.triggers), *evaluation.notes]
    if delay is not None:
        reasons.append(f"The dose was due on {due}; the assessment is {delay} days later.")
    reasons.extend(f.reason for f in findings)
    reasons.extend(w.reason for w in warnings)
    return DoseDecision(
        action=action, activity_gbq=activity, cycle=cycle, code=code,
        triggers=evaluation.triggers, grades=evaluation.grades, crcl=evaluation.crcl,
        baseline_crcl=evaluation.baseline_crcl, due_date=due, delay_days=delay,
        reasons=tuple(reasons), findings=tuple(findings),
        withheld_categories=after_withheld, occurred_categories=after_occurred,
        missing_inputs=tuple(missing), warnings=warnings,
    )


def no_recommendation_text(missing: tuple[str, ...]) -> str:
    """The headline while the decision panel is incomplete (§4.5): no action is named."""
    names = ", ".join(INPUT_NAMES.get(path, path) for path in missing)
    return f"No recommendation yet: missing {names}."


def _timing_warnings(previous: Dose | None, dose_day: dt.date, withheld: frozenset[Category],
                     config: RulesConfig) -> tuple[Finding, ...]:
    """§4.4 settled reading: a dose under 49 days after the previous one, or a delay past 63
    days that no toxicity explains, carries a warning; neither changes the action."""
    if previous is None:
        return ()
    interval = (dose_day - previous.date).days
    values = {"days_since_previous_dose": str(interval)}
    if interval < config.cycle_window_early_days:
        return (Finding(
            "DOSE.TIMING.TOO_EARLY", Severity.WARNING,
            f"Too early: the dose on {dose_day} would be {interval} days after the previous dose "
            f"({previous.date}), under {config.cycle_window_early_days} days.",
            values, {"days_since_previous_dose": f">= {config.cycle_window_early_days}"}),)
    if interval > config.cycle_window_late_days and not withheld:
        return (Finding(
            "DOSE.TIMING.LATE", Severity.WARNING,
            f"Late: the dose on {dose_day} would be {interval} days after the previous dose "
            f"({previous.date}), over {config.cycle_window_late_days} days, and no withheld "
            "toxicity explains the delay.",
            values, {"days_since_previous_dose": f"<= {config.cycle_window_late_days}"}),)
    return ()


def _add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def _sixteen_week_limit(previous: Dose | None, due: dt.date | None,
                        config: RulesConfig) -> dt.date | None:
    """The first day on which a trigger still present ends the course."""
    if previous is None or due is None:
        return None
    if config.sixteen_week_mode is SixteenWeekMode.INTERVAL:
        # The dose cannot be given today, so the interval would exceed 16 weeks.
        return _add_days(previous.date, config.sixteen_week_days)
    return _add_days(due, config.sixteen_week_days)


def _sixteen_week_text(previous: Dose | None, due: dt.date | None, day: dt.date,
                       config: RulesConfig) -> str:
    assert previous is not None and due is not None
    if config.sixteen_week_mode is SixteenWeekMode.INTERVAL:
        return (f"{(day - previous.date).days} days after the previous dose ({previous.date}): "
                f"the interval would exceed {config.sixteen_week_days} days (16 weeks)")
    return (f"{(day - due).days} days after the dose was due ({due}): "
            f"{config.sixteen_week_days} days (16 weeks) or more")
