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
Units (§4.1)
    ``Analyte``; ``quantity(analyte, value, unit, field=...) -> Quantity`` (``.canonical``,
    ``.to(unit)``); ``convert(q, unit)``; ``lab_value(analyte, value, unit, uln=, lln=, field=)
    -> LabValue``; ``SPECS`` (accepted units and plausible ranges per analyte).
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
    ``short_acting_ssa_finding(last_injection_at, dose_at, config)`` (aware datetimes).
    ``Finding(code, severity, reason, values, thresholds)``; ``Severity`` block/review/warning.
Dose decision (§4.3, §4.4)
    ``dose_decision(DoseInput, assessment_date, config) -> DoseDecision`` (``action``,
    ``activity_gbq``, ``cycle``, ``code``, ``triggers``, ``grades``, ``crcl``,
    ``baseline_crcl``, ``due_date``, ``delay_days``, ``reasons``, ``findings``, and the course's
    ``withheld_categories``/``occurred_categories`` after acting on it);
    ``evaluate_triggers(DoseInput, config) -> TriggerEvaluation``; ``Trigger(category,
    criterion, value, threshold, unit, comparison, reason)``; ``Action``; ``Category``.
    Inputs: ``DoseInput(course, patient, baseline, labs, adverse_events, labs_date)``,
    ``Patient(sex, age_years, weight_kg)``, ``Baseline(creatinine, weight_kg, age_years)``,
    ``Labs(platelets, hemoglobin, …, prothrombin_ratio_percent, inr)``,
    ``AdverseEvent(grade, category, term, related)``, ``Course(doses, occurred_categories,
    withheld_categories)``, ``Dose(cycle, date, activity_gbq)``.
Course plan (§3)
    ``course_plan(first_dose_date, doses, config, *, course_ended=False) ->
    tuple[PlanEvent, ...]``; ``PlanEvent(kind, cycle, earliest, due, latest, basis, note)``;
    ``EventKind``; ``ROUTINE_BLOOD_KINDS``; ``add_months``.
Scenario contract (§5)
    ``assess(data, config) -> dict``; ``assess_json(text, config) -> dict``; ``load_json``;
    ``parse_dose_scenario``; ``render_dose_decision``/``render_grade``/``render_schedule``.
"""

from .config import DEFAULT_CONFIG, RulesConfig, SixteenWeekMode
from .ctcae import CtcaeGrade, ctcae_grade, grade_lab
from .dose import Action, DoseDecision, dose_decision, is_reduced
from .eligibility import (
    EligibilityInput,
    SstrImaging,
    eligibility_findings,
    long_acting_ssa_finding,
    short_acting_ssa_finding,
)
from .errors import RulesInputError
from .explain import Finding, Severity
from .grading import Differentiation, Grade, GradeResult, tumour_grade
from .inputs import AdverseEvent, Baseline, Category, Course, Dose, DoseInput, Labs, Patient, Sex
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
from .triggers import Trigger, TriggerEvaluation, evaluate_triggers
from .units import SPECS, Analyte, LabValue, Quantity, convert, lab_value, quantity

__all__ = [
    "DEFAULT_CONFIG", "ROUTINE_BLOOD_KINDS", "SPECS", "Action", "AdverseEvent", "Analyte",
    "Baseline", "Basis", "Category", "Course", "CreatinineClearance", "CtcaeGrade",
    "Differentiation", "Dose", "DoseDecision", "DoseInput", "EligibilityInput", "EventKind",
    "Finding", "Grade", "GradeResult", "LabValue", "Labs", "Patient", "PlanEvent", "Quantity",
    "RulesConfig", "RulesInputError", "Severity", "Sex", "SixteenWeekMode", "SstrImaging",
    "Trigger", "TriggerEvaluation", "add_months", "assess", "assess_json", "convert",
    "course_plan", "creatinine_clearance", "ctcae_grade", "dose_decision", "eligibility_findings",
    "evaluate_triggers", "grade_lab", "is_reduced", "lab_value", "load_json",
    "long_acting_ssa_finding", "parse_dose_scenario", "quantity", "render_dose_decision",
    "render_grade", "render_schedule", "short_acting_ssa_finding", "tumour_grade",
]
