"""The ``manage.py assess`` contract (§5): parse and validate a JSON scenario into the typed
inputs, run the rules and render the result as a JSON-ready dict.

Three kinds: ``dose_decision``, ``grade`` and ``schedule``. Numbers are read exactly (JSON
decimals become Decimals, never floats). Any problem raises :class:`RulesInputError` naming the
field path, e.g. ``labs.platelets.unit`` or ``course.doses[1].date``; unknown fields are refused
so a misspelt analyte or key is never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .config import DEFAULT_CONFIG, RulesConfig
from .ctcae import grade_thresholds
from .dose import DoseDecision, dose_decision
from .errors import RulesInputError, join_path
from .explain import as_json_number, fmt_fixed_cmp, json_cmp
from .grading import GradeResult, tumour_grade
from .inputs import (
    AdverseEvent,
    Baseline,
    Course,
    Dose,
    DoseInput,
    Labs,
    Patient,
    to_category,
)
from .plan import PlanEvent, course_plan
from .triggers import CRCL_FALL_RATIO, CRCL_MINIMUM
from .units import SPECS, Analyte, LabValue, exact, lab_value

KINDS = ("dose_decision", "grade", "schedule")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_LAB_NUMBERS = ("prothrombin_ratio_percent", "inr")


def load_json(text: str) -> Any:
    """Parse JSON with exact numbers; NaN and Infinity are kept so validation can name them."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise RulesInputError("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                              f"{exc.colno}") from None


def assess_json(text: str, config: RulesConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """Parse a JSON scenario and return the JSON-ready result."""
    return assess(load_json(text), config)


def assess(data: object, config: RulesConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """Run one scenario (already parsed JSON) and return the JSON-ready result."""
    root = _object(data, "$")
    kind = root.get("kind")
    if kind not in KINDS:
        problem = "is required" if kind is None else f"unknown kind '{kind}'"
        raise RulesInputError("kind", f"{problem}; accepted: {', '.join(KINDS)}")
    handler: Callable[[dict[str, Any], RulesConfig], dict[str, Any]] = {
        "dose_decision": _assess_dose, "grade": _assess_grade, "schedule": _assess_schedule,
    }[kind]
    return handler(root, config)


# --- reading JSON values -------------------------------------------------------------------


def _object(value: object, path: str, allowed: tuple[str, ...] = (),
            required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesInputError(path, "must be a JSON object")
    if allowed:
        for key in value:
            if key not in allowed:
                raise RulesInputError(join_path("" if path == "$" else path, key),
                                      f"unknown field; accepted: {', '.join(allowed)}")
    for key in required:
        if value.get(key) is None:
            raise RulesInputError(join_path("" if path == "$" else path, key), "is required")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise RulesInputError(path, "must be a JSON list")
    return value


def _number(value: object, path: str) -> Fraction:
    """A JSON number, exactly; a float (from an already-parsed dict) is read as its shortest
    decimal form. Strings, booleans, NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise RulesInputError(path, "must be a JSON number")
    return exact(value, path)


def _optional_number(value: object, path: str) -> Fraction | None:
    return None if value is None else _number(value, path)


def _int(value: object, path: str) -> int:
    number = _number(value, path)
    if number != int(number):
        raise RulesInputError(path, "must be a whole number")
    return int(number)


def _date(value: object, path: str) -> dt.date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise RulesInputError(path, f"must be a date as YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RulesInputError(path, f"{value!r} is not a valid date ({exc})") from None


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise RulesInputError(path, "must be true or false")
    return value


def _lab(analyte: Analyte, value: object, path: str) -> LabValue:
    item = _object(value, path, ("value", "unit", "uln", "lln"), ("value", "unit"))
    if not isinstance(item["unit"], str):
        raise RulesInputError(join_path(path, "unit"), "must be a string")
    return lab_value(
        analyte, _number(item["value"], join_path(path, "value")), item["unit"],
        uln=_optional_number(item.get("uln"), join_path(path, "uln")),
        lln=_optional_number(item.get("lln"), join_path(path, "lln")), field=path)


# --- dose_decision -------------------------------------------------------------------------


def parse_dose_scenario(root: Mapping[str, Any]) -> tuple[DoseInput, dt.date]:
    """Read a ``dose_decision`` scenario into a :class:`DoseInput` and the assessment date."""
    root = _object(dict(root), "$", ("kind", "description", "assessment_date", "patient",
                                     "baseline", "labs", "adverse_events", "course", "labs_date",
                                     "dose_date"),
                   ("assessment_date",))
    assessment = _date(root["assessment_date"], "assessment_date")
    patient = None
    if root.get("patient") is not None:
        raw = _object(root["patient"], "patient", ("sex", "age_years", "weight_kg"),
                      ("sex", "age_years", "weight_kg"))
        patient = Patient(raw["sex"], _number(raw["age_years"], "patient.age_years"),
                          _number(raw["weight_kg"], "patient.weight_kg"))
    baseline = None
    if root.get("baseline") is not None:
        raw = _object(root["baseline"], "baseline", ("creatinine", "weight_kg", "age_years"))
        baseline = Baseline(
            creatinine=None if raw.get("creatinine") is None else _lab(
                Analyte.CREATININE, raw["creatinine"], "baseline.creatinine"),
            weight_kg=_optional_number(raw.get("weight_kg"), "baseline.weight_kg"),
            age_years=_optional_number(raw.get("age_years"), "baseline.age_years"))
    labs = _parse_labs(root.get("labs"))
    events = tuple(_parse_event(item, f"adverse_events[{i}]") for i, item in
                   enumerate(_list(root.get("adverse_events") or [], "adverse_events")))
    course = _parse_course(root.get("course"))
    labs_date = None if root.get("labs_date") is None else _date(root["labs_date"], "labs_date")
    dose_date = None if root.get("dose_date") is None else _date(root["dose_date"], "dose_date")
    return DoseInput(course=course, patient=patient, baseline=baseline, labs=labs,
                     adverse_events=events, labs_date=labs_date,
                     dose_date=dose_date), assessment


def _parse_labs(value: object) -> Labs:
    if value is None:
        return Labs()
    raw = _object(value, "labs")
    known = {a.value for a in Analyte}
    kwargs: dict[str, Any] = {}
    for key, item in raw.items():
        path = join_path("labs", key)
        if key in _PLAIN_LAB_NUMBERS:
            kwargs[key] = _optional_number(item, path)
        elif key not in known:
            raise RulesInputError(path, f"unknown analyte '{key}'; accepted: "
                                  f"{', '.join(sorted(known | set(_PLAIN_LAB_NUMBERS)))}")
        elif item is not None:
            kwargs[key] = _lab(Analyte(key), item, path)
    return Labs(**kwargs)


def _parse_event(value: object, path: str) -> AdverseEvent:
    raw = _object(value, path, ("category", "term", "grade", "related"), ("grade",))
    category = None
    if raw.get("category") is not None:
        category = to_category(raw["category"], join_path(path, "category"))
    term = raw.get("term")
    if term is not None and not isinstance(term, str):
        raise RulesInputError(join_path(path, "term"), "must be a string")
    related = None if raw.get("related") is None else _bool(raw["related"],
                                                            join_path(path, "related"))
    return AdverseEvent(grade=_int(raw["grade"], join_path(path, "grade")), category=category,
                        term=term, related=related)


def _parse_doses(value: object, path: str) -> tuple[Dose, ...]:
    doses = []
    for index, item in enumerate(_list(value or [], path)):
        item_path = join_path(path, index)
        raw = _object(item, item_path, ("cycle", "date", "activity_gbq"), ("date", "activity_gbq"))
        cycle = index + 1 if raw.get("cycle") is None else _int(raw["cycle"],
                                                                join_path(item_path, "cycle"))
        activity = _number(raw["activity_gbq"], join_path(item_path, "activity_gbq"))
        doses.append(Dose(cycle, _date(raw["date"], join_path(item_path, "date")), activity))
    return tuple(doses)


def _parse_course(value: object) -> Course:
    if value is None:
        return Course()
    raw = _object(value, "course", ("doses", "occurred_categories", "withheld_categories"))
    categories = {}
    for name in ("occurred_categories", "withheld_categories"):
        path = f"course.{name}"
        items = _list(raw.get(name) or [], path)
        categories[name] = frozenset(to_category(v, join_path(path, i))
                                     for i, v in enumerate(items))
    return Course(doses=_parse_doses(raw.get("doses"), "course.doses"), **categories)


def _assess_dose(root: dict[str, Any], config: RulesConfig) -> dict[str, Any]:
    inp, assessment = parse_dose_scenario(root)
    return render_dose_decision(dose_decision(inp, assessment, config), assessment)


def render_dose_decision(decision: DoseDecision, assessment_date: dt.date, *,
                         as_recommendation: bool = False) -> dict[str, Any]:
    """The §5 output of a dose decision as a JSON-ready dict.

    ``complete``/``missing_inputs``, ``needs_review`` and ``warnings`` (each ``{code, reason}``)
    follow §4.5. Every number is printed so that its comparison stays true (a trigger's value
    with as many decimals as keep it on its side of the threshold).

    ``as_recommendation=True`` is the shape pages and API responses show: while the panel is
    incomplete, ``action``, ``activity_gbq`` and ``code`` are null, so no action is ever
    presented as a recommendation (§4.5); ``manage.py assess`` prints the computed action.
    """
    withhold = as_recommendation and not decision.complete
    return {
        "kind": "dose_decision",
        "assessment_date": assessment_date.isoformat(),
        "complete": decision.complete,
        "missing_inputs": list(decision.missing_inputs),
        "action": None if withhold else str(decision.action),
        "activity_gbq": (None if withhold or decision.activity_gbq is None
                         else float(decision.activity_gbq)),
        "cycle": decision.cycle,
        "code": None if withhold else decision.code,
        "triggers": [
            {"category": str(t.category), "criterion": t.criterion,
             "value": json_cmp(t.value, t.threshold), "threshold": as_json_number(t.threshold),
             "unit": t.unit, "comparison": t.comparison, "reason": t.reason}
            for t in decision.triggers
        ],
        "grades": {
            str(g.analyte): {"grade": g.grade, "term": g.term, "ctcae_version": g.version,
                             "value": json_cmp(g.value, *grade_thresholds(g), places=3),
                             "unit": SPECS[g.analyte].canonical_unit,
                             "reason": g.reason}
            for g in decision.grades
        },
        "crcl_ml_min": None if decision.crcl is None else float(decision.crcl.rounded),
        "crcl_display": _crcl_display(decision),
        "baseline_crcl_ml_min": (None if decision.baseline_crcl is None
                                 else float(decision.baseline_crcl.rounded)),
        "due_date": None if decision.due_date is None else decision.due_date.isoformat(),
        "delay_days": decision.delay_days,
        "reasons": list(decision.reasons),
        "needs_review": [{"code": f.code, "reason": f.reason} for f in decision.needs_review],
        "warnings": [{"code": f.code, "reason": f.reason} for f in decision.warnings],
        "findings": [f.as_dict() for f in (*decision.findings, *decision.warnings)],
        "manual_review": [f.as_dict() for f in decision.needs_review],
        "course_after": {
            "withheld_categories": sorted(str(c) for c in decision.withheld_categories),
            "occurred_categories": sorted(str(c) for c in decision.occurred_categories),
        },
    }


def _crcl_display(decision: DoseDecision) -> str | None:
    """The clearance as a page prints it: one decimal unless that would put it on the other
    side of 40 mL/min or of the 40 % fall (39.96, never 40.0, for a value below 40)."""
    if decision.crcl is None:
        return None
    thresholds = [CRCL_MINIMUM]
    if decision.baseline_crcl is not None:
        thresholds.append(decision.baseline_crcl.ml_min * CRCL_FALL_RATIO)
    return fmt_fixed_cmp(decision.crcl.ml_min, *thresholds)


# --- grade ---------------------------------------------------------------------------------


def _assess_grade(root: dict[str, Any], config: RulesConfig) -> dict[str, Any]:
    root = _object(root, "$", ("kind", "description", "differentiation", "ki67_percent",
                               "mitoses_per_2mm2"), ("differentiation",))
    result = tumour_grade(
        root["differentiation"],
        _optional_number(root.get("ki67_percent"), "ki67_percent"),
        _optional_number(root.get("mitoses_per_2mm2"), "mitoses_per_2mm2"),
    )
    return render_grade(result)


def render_grade(result: GradeResult) -> dict[str, Any]:
    return {
        "kind": "grade",
        "grade": str(result.grade),
        "decided_by": result.decided_by,
        "ki67_grade": None if result.ki67_grade is None else str(result.ki67_grade),
        "mitoses_grade": None if result.mitoses_grade is None else str(result.mitoses_grade),
        "code": result.code,
        "reasons": list(result.reasons),
    }


# --- schedule ------------------------------------------------------------------------------


def _assess_schedule(root: dict[str, Any], config: RulesConfig) -> dict[str, Any]:
    root = _object(root, "$", ("kind", "description", "first_dose_date", "doses",
                               "course_ended"), ("first_dose_date",))
    first = _date(root["first_dose_date"], "first_dose_date")
    doses = _parse_doses(root.get("doses"), "doses")
    ended = False if root.get("course_ended") is None else _bool(root["course_ended"],
                                                                 "course_ended")
    return render_schedule(first, course_plan(first, doses, config, course_ended=ended))


def render_schedule(first_dose_date: dt.date, events: tuple[PlanEvent, ...]) -> dict[str, Any]:
    return {
        "kind": "schedule",
        "first_dose_date": first_dose_date.isoformat(),
        "events": [
            {"kind": str(e.kind), "cycle": e.cycle, "earliest": e.earliest.isoformat(),
             "due": e.due.isoformat(), "latest": e.latest.isoformat(), "basis": str(e.basis),
             "note": e.note}
            for e in events
        ],
    }
