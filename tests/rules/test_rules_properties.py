"""Properties of the rules, checked on generated cases (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rules import (
    ROUTINE_BLOOD_KINDS,
    SPECS,
    Analyte,
    Baseline,
    Category,
    Course,
    Dose,
    DoseInput,
    EventKind,
    Labs,
    Patient,
    RulesConfig,
    assess,
    course_plan,
    dose_decision,
    lab_value,
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
C1 = dt.date(2025, 1, 6)


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[Fraction]:
    return st.decimals(Decimal(low), Decimal(high), places=places).map(Fraction)


# Canonical-unit ranges wide enough to cross every threshold.
CANONICAL = {
    "platelets": decimals("1", "400", 1),
    "hemoglobin": decimals("50", "170", 1),
    "neutrophils": decimals("0.1", "8", 2),
    "lymphocytes": decimals("0.05", "4", 2),
    "white_cells": decimals("0.5", "12", 2),
    "creatinine": decimals("40", "400", 1),  # µmol/L
    "bilirubin": decimals("3", "150", 1),  # µmol/L, ULN 20.52
    "albumin": decimals("15", "50", 1),
    "ast": decimals("10", "400", 0),  # ULN 40
}
ULN = {"bilirubin": Fraction("20.52"), "ast": Fraction(40)}
LOWER_IS_WORSE = {"platelets", "hemoglobin", "neutrophils", "albumin"}


@st.composite
def courses(draw):
    count = draw(st.integers(0, 4))
    gaps = draw(st.lists(st.integers(49, 120), min_size=count, max_size=count))
    activities = draw(st.lists(st.sampled_from(["7.4", "3.7"]), min_size=count,
                               max_size=count))
    day, given_doses = C1, []
    for cycle, (gap, activity) in enumerate(zip(gaps, activities, strict=True), start=1):
        given_doses.append(Dose(cycle, day, Fraction(activity)))
        day += dt.timedelta(days=gap)
    categories = [c for c in Category if c is not Category.HYPERSENSITIVITY]
    occurred = draw(st.sets(st.sampled_from(categories), max_size=2))
    withheld = draw(st.sets(st.sampled_from(categories), max_size=2)) - occurred
    course = Course(tuple(given_doses), frozenset(occurred), frozenset(withheld))
    last = given_doses[-1].date if given_doses else C1
    return course, last + dt.timedelta(days=draw(st.integers(0, 200)))


@st.composite
def dose_cases(draw):
    course, when = draw(courses())
    values = {name: draw(strategy) for name, strategy in CANONICAL.items()
              if draw(st.booleans()) or name in ("platelets", "creatinine")}
    patient = Patient(draw(st.sampled_from("FM")), draw(st.integers(20, 90)),
                      draw(st.integers(40, 120)))
    baseline_creatinine = draw(CANONICAL["creatinine"])
    ratio = draw(st.sampled_from([None, 50, 69, 70, 95]))
    inr = draw(st.sampled_from([None, Fraction("1.4")]))
    return course, when, values, patient, baseline_creatinine, ratio, inr


def build(case, values, units=None):
    course, when, _, patient, baseline_creatinine, ratio, inr = case
    labs = {}
    for name, canonical in values.items():
        unit = (units or {}).get(name, SPECS[Analyte(name)].canonical_unit)
        factor = SPECS[Analyte(name)].factors[unit]
        uln = None if name not in ULN else ULN[name] / factor
        labs[name] = lab_value(name, canonical / factor, unit, uln=uln)
    baseline = Baseline(lab_value("creatinine", baseline_creatinine, "umol/L"),
                        patient.weight_kg, patient.age_years)
    inp = DoseInput(course=course, patient=patient, baseline=baseline,
                    labs=Labs(prothrombin_ratio_percent=ratio, inr=inr, **labs))
    return inp, when


def next_activity(decision) -> Fraction:
    return Fraction(0) if decision.activity_gbq is None else Fraction(decision.activity_gbq)


@PROPERTY_SETTINGS
@given(case=dose_cases(), data=st.data())
def test_a_worse_lab_value_never_yields_a_larger_next_dose(case, data):
    values = case[2]
    name = data.draw(st.sampled_from(sorted(values)))
    factor = data.draw(decimals("0.01", "0.9", 2))
    worse = values[name] * (1 - factor) if name in LOWER_IS_WORSE else values[name] * (1 + factor)
    spec = SPECS[Analyte(name)]
    assume(spec.minimum <= worse <= spec.maximum)
    better_input, when = build(case, values)
    worse_input, _ = build(case, {**values, name: worse})
    config = RulesConfig()
    better = dose_decision(better_input, when, config)
    worse_decision = dose_decision(worse_input, when, config)
    assert next_activity(worse_decision) <= next_activity(better)
    assert set(better.trigger_categories) <= set(worse_decision.trigger_categories)


def _decimal(value: Fraction) -> Decimal:
    """The exact Decimal of a value known to have a finite decimal expansion."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
        assert digits < 30
    return Decimal(int(value * 10**digits)).scaleb(-digits)


# Values generated in the unit with the largest factor, so every other unit is a finite decimal.
BASE_UNITS = {
    "platelets": ("10^9/L", decimals("1", "400", 1)),
    "neutrophils": ("10^9/L", decimals("0.1", "8", 2)),
    "hemoglobin": ("mmol/L", decimals("3", "11", 2)),
    "creatinine": ("mg/dL", decimals("0.4", "4", 2)),
    "bilirubin": ("mg/dL", decimals("0.2", "9", 2)),
    "albumin": ("g/dL", decimals("1.5", "5", 2)),
}


@PROPERTY_SETTINGS
@given(data=st.data())
def test_results_do_not_depend_on_the_unit_entered(data):
    base = {name: (unit, data.draw(strategy)) for name, (unit, strategy) in BASE_UNITS.items()}
    chosen = {name: data.draw(st.sampled_from(sorted(SPECS[Analyte(name)].factors)))
              for name in base}

    def scenario(units):
        labs = {}
        for name, (base_unit, value) in base.items():
            factors = SPECS[Analyte(name)].factors
            labs[name] = {"value": _decimal(value * factors[base_unit] / factors[units[name]]),
                          "unit": units[name]}
            if name == "bilirubin":
                labs[name]["uln"] = _decimal(Fraction("20.52") / factors[units[name]])
        return {
            "kind": "dose_decision", "assessment_date": "2025-03-03",
            "patient": {"sex": "M", "age_years": 60, "weight_kg": 70},
            "baseline": {"creatinine": {"value": Decimal("1.0"), "unit": "mg/dL"}},
            "labs": labs,
            "course": {"doses": [{"cycle": 1, "date": "2025-01-06", "activity_gbq": 7.4}]},
        }

    canonical = assess(scenario({name: unit for name, (unit, _) in base.items()}))
    assert assess(scenario(chosen)) == canonical


@st.composite
def plans(draw):
    precaution = draw(st.integers(0, 14))
    window = draw(st.integers(7, 60))
    due_before = draw(st.integers(0, min(window, 48 - precaution)))
    config = RulesConfig(precaution_days=precaution, pre_dose_lab_window_days=window,
                         pre_dose_labs_due_days_before=due_before)
    first = draw(st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
    count = draw(st.integers(0, 4))
    day, given_doses = first, []
    for cycle in range(1, count + 1):
        given_doses.append(Dose(cycle, day, Fraction("7.4")))
        day += dt.timedelta(days=draw(st.integers(49, 200)))
    ended = bool(given_doses) and draw(st.booleans())
    return first, tuple(given_doses), config, ended


@PROPERTY_SETTINGS
@given(plan=plans())
def test_plan_dates_are_ordered_and_no_routine_draw_falls_in_a_precaution_window(plan):
    first, given_doses, config, ended = plan
    events = course_plan(first, given_doses, config, course_ended=ended)
    assert all(e.earliest <= e.due <= e.latest for e in events)
    assert [e.due for e in events] == sorted(e.due for e in events)
    infusions = [e for e in events if e.kind == EventKind.INFUSION]
    assert all(a.due < b.earliest for a, b in zip(infusions, infusions[1:], strict=False))
    windows = [e for e in events if e.kind == EventKind.NO_ROUTINE_BLOODS]
    assert len(windows) == len(infusions)
    for draw in (e for e in events if e.kind in ROUTINE_BLOOD_KINDS):
        for window in windows:
            start, end = max(draw.earliest, window.earliest), min(draw.latest, window.latest)
            if start <= end:
                # only a pre-dose draw on its own infusion day, before the infusion
                assert draw.kind == EventKind.PRE_DOSE_LABS and draw.cycle == window.cycle
                assert start == end == window.earliest
