"""NETcare clinical rules for PRRT with [177Lu]Lu-DOTA-TATE: pure, typed and explainable.

No Django, no database, no clock: ``today`` and dates are always passed in. Numbers are exact
(:class:`fractions.Fraction`); nothing is rounded before a comparison. Every result names the
rule that fired, the values and thresholds it compared, a sentence a clinician can read and a
machine-readable code. Bad input raises :class:`RulesInputError` with the field path.

Public API
----------
Configuration
    ``RulesConfig`` (frozen; every per-centre choice with its default, e.g. ``ctcae_version``,
    ``precaution_days=7``, ``sixteen_week_mode``, ``ssa_washout_warn_days=30`` /
    ``ssa_washout_block_days=28``, ``pre_dose_lab_window_days=14``, eligibility thresholds);
    ``RulesConfig.from_mapping(settings_dict)``; ``DEFAULT_CONFIG``; ``SixteenWeekMode``.
Units and plausible values (§4.1, §4.6)
    ``Analyte``; ``quantity(analyte, value, unit, field=...) -> Quantity`` (``.canonical``,
    ``.to(unit)``); ``convert(q, unit)``; ``lab_value(analyte, value, unit, uln=, lln=, field=)
    -> LabValue`` (bilirubin, AST and ALT need their ULN); ``SPECS`` (accepted units, plausible
    range and ULN range per analyte: the one definition forms, API and imports validate
    through); ``plausible(name, value, field)`` for age, weight, prothrombin ratio and INR.
Tumour grade (§1)
    ``tumour_grade(differentiation, ki67_percent=None, mitoses_per_2mm2=None) -> GradeResult``
    (``grade``: G1/G2/G3/NEC/unknown, ``decided_by``, ``ki67_grade``, ``mitoses_grade``,
    ``reasons``, ``code``).
CTCAE (§4.1)
    ``ctcae_grade(analyte, value_si, uln=None, lln=None, config) -> CtcaeGrade`` (``grade`` 0–4
    or None, ``term``, ``version``, ``value``, ``unit``, ``limit_kind``, ``limit``,
    ``limit_source``, ``reason``); ``grade_lab(lab, config)``.
Creatinine clearance (§4.2)
    ``creatinine_clearance(*, age_years, weight_kg, sex, creatinine) -> CreatinineClearance``
    (``ml_min`` exact, ``rounded``/``display`` one decimal, ``formula``).
Eligibility (§2)
    ``eligibility_findings(EligibilityInput, today, config) -> list[Finding]``;
    ``long_acting_ssa_finding(last_injection, dose_date, config)``;
    ``short_acting_ssa_finding(last_injection_at, dose_at, config)`` (aware datetimes);
    ``pregnancy_finding(sex=, status=, tested_on=, stated_by=, dose_date=, today=, config=)``
    (before the first dose).
    ``Finding(code, severity, reason, values, thresholds)``; ``Severity`` block/review/warning.
Dose decision (§4.3, §4.4)
    ``dose_decision(DoseInput, assessment_date, config) -> DoseDecision`` (``action``,
    ``activity_gbq``, ``cycle``, ``code``, ``triggers``, ``grades``, ``crcl``,
    ``baseline_crcl``, ``due_date``, ``delay_days``, ``reasons``, ``findings``, and the course's
    ``withheld_categories``/``occurred_categories`` after acting on it; §4.5: ``complete``,
    ``missing_inputs``, ``needs_review``, ``warnings``);
    ``evaluate_triggers(DoseInput, config) -> TriggerEvaluation``; ``Trigger(category,
    criterion, value, threshold, unit, comparison, reason)``; ``Action``; ``Category``.
    Inputs: ``DoseInput(course, patient, baseline, labs, adverse_events, labs_date,
    dose_date)`` (``dose_date``: the planned infusion day, for the timing warnings),
    ``Patient(sex, age_years, weight_kg)``, ``Baseline(creatinine, weight_kg, age_years)``,
    ``Labs(platelets, hemoglobin, …, prothrombin_ratio_percent, inr)``,
    ``AdverseEvent(grade, category, term, related)``, ``Course(doses, occurred_categories,
    withheld_categories)``, ``Dose(cycle, date, activity_gbq)``.
Course plan (§3)
    ``course_plan(first_dose_date, doses, config, *, course_ended=False) ->
    tuple[PlanEvent, ...]``; ``PlanEvent(kind, cycle, earliest, due, latest, basis, note)``;
    ``EventKind``; ``ROUTINE_BLOOD_KINDS``; ``add_months``.
Dose orders (the supplier's terms)
    ``OrderTerms`` (order cut-off weekday and weeks before, free-cancellation days, charges,
    currency); ``order_deadlines(calibration_day, terms) -> OrderDeadlines`` (``order_by``,
    ``free_cancellation_until``, ``labs_by``); ``cancellation_charge(day, deadlines, terms,
    ordered=)`` and ``waste_charge(ineligible_on_testing=, terms=)`` -> ``Charge``.
Scenario contract (§5)
    ``assess(data, config) -> dict``; ``assess_json(text, config) -> dict``; ``load_json``;
    ``parse_dose_scenario``; ``render_dose_decision(decision, date, as_recommendation=)``
    (pages and API responses pass ``as_recommendation=True``: no action while incomplete);
    ``render_grade``/``render_schedule``.
Display (§4.5)
    ``fmt_cmp(value, *thresholds)``: a number printed so its comparison stays true.
"""

from .config import DEFAULT_CONFIG, RulesConfig, SixteenWeekMode
from .ctcae import CtcaeGrade, ctcae_grade, grade_lab, grade_thresholds
from .dose import Action, DoseDecision, dose_decision, is_reduced, no_recommendation_text
from .eligibility import (
    EligibilityInput,
    SstrImaging,
    eligibility_findings,
    long_acting_ssa_finding,
    pregnancy_finding,
    short_acting_ssa_finding,
)
from .errors import RulesInputError
from .explain import Finding, Severity, fmt_cmp
from .grading import Differentiation, Grade, GradeResult, tumour_grade
from .inputs import (
    PLAIN_RANGES,
    AdverseEvent,
    Baseline,
    Category,
    Course,
    Dose,
    DoseInput,
    Labs,
    Patient,
    Sex,
    plausible,
)
from .orders import (
    Charge,
    OrderDeadlines,
    OrderTerms,
    cancellation_charge,
    order_deadlines,
    waste_charge,
)
from .plan import ROUTINE_BLOOD_KINDS, Basis, EventKind, PlanEvent, add_months, course_plan
from .renal import CreatinineClearance, creatinine_clearance
from .scenario import (
    assess,
    assess_json,
    load_json,
    parse_dose_scenario,
    render_dose_decision,
    render_grade,
    render_schedule,
)
from .triggers import INPUT_NAMES, Trigger, TriggerEvaluation, evaluate_triggers
from .units import SPECS, Analyte, LabValue, Quantity, convert, lab_value, quantity

__all__ = [
    "Charge", "OrderDeadlines", "OrderTerms", "cancellation_charge", "order_deadlines",
    "waste_charge",
    "Action", "AdverseEvent", "Analyte", "Baseline", "Basis", "Category", "Course",
    "CreatinineClearance", "CtcaeGrade", "DEFAULT_CONFIG", "Differentiation", "Dose",
    "DoseDecision", "DoseInput", "EligibilityInput", "EventKind", "Finding", "Grade", "GradeResult",
    "INPUT_NAMES", "LabValue", "Labs", "PLAIN_RANGES", "Patient", "PlanEvent", "Quantity",
    "ROUTINE_BLOOD_KINDS", "RulesConfig", "RulesInputError", "SPECS", "Severity", "Sex",
    "SixteenWeekMode", "SstrImaging", "Trigger", "TriggerEvaluation", "add_months", "assess",
    "assess_json", "convert", "course_plan", "creatinine_clearance", "ctcae_grade", "dose_decision",
    "eligibility_findings", "evaluate_triggers", "fmt_cmp", "grade_lab", "grade_thresholds",
    "is_reduced", "lab_value", "load_json", "long_acting_ssa_finding", "no_recommendation_text",
    "parse_dose_scenario", "plausible", "pregnancy_finding", "quantity", "render_dose_decision",
    "render_grade", "render_schedule", "short_acting_ssa_finding", "tumour_grade",
]
