"""§4.6 plausible values: both sides of every range, in every accepted unit, refused with an
error that names the field and the accepted range; the ULNs of bilirubin, AST and ALT are
required and checked in the value's unit."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from rules import (
    PLAIN_RANGES,
    SPECS,
    Analyte,
    Baseline,
    Labs,
    Patient,
    RulesInputError,
    assess,
    lab_value,
    plausible,
    quantity,
)

F = Fraction
STEP = F(1, 10**6)  # a step just outside a bound, in the unit being tested
SCENARIOS = Path(__file__).parent / "scenarios"

# §4.6, in the canonical unit: (analyte, lowest accepted, highest accepted).
TABLE = {
    "platelets": (F(0), F(2000)),
    "hemoglobin": (F(20), F(250)),
    "neutrophils": (F(0), F(100)),
    "white_cells": (F(0), F(500)),
    "lymphocytes": (F(0), F(500)),
    "creatinine": (F("8.84"), F(2210)),  # 0.1–25 mg/dL
    "bilirubin": (F(0), F(855)),  # 0–50 mg/dL
    "albumin": (F(5), F(70)),
    "ast": (F(0), F(20000)),
    "alt": (F(0), F(20000)),
}
ULN_TABLE = {"bilirubin": (F("5.13"), F("51.3")), "ast": (F(10), F(200)),
             "alt": (F(10), F(200))}
ULN_FOR = {"bilirubin": F("20.52"), "ast": F(40), "alt": F(40)}  # canonical


def test_the_table_is_the_rules_definition():
    assert {a.value: (s.minimum, s.maximum) for a, s in SPECS.items()} == TABLE
    assert {a.value: s.uln_range for a, s in SPECS.items() if s.needs_uln} == ULN_TABLE
    assert SPECS[Analyte.CREATININE].range_in("mg/dL") == (F("0.1"), F(25))
    assert SPECS[Analyte.BILIRUBIN].range_in("mg/dL") == (F(0), F(50))
    assert SPECS[Analyte.BILIRUBIN].uln_range_in("mg/dL") == (F("0.3"), F(3))
    assert SPECS[Analyte.PLATELETS].range_in("/uL") == (F(0), F(2_000_000))


def _value_cases():
    for analyte, (low, high) in TABLE.items():
        for unit, factor in SPECS[Analyte(analyte)].factors.items():
            lo, hi = low / factor, high / factor
            step = STEP
            yield pytest.param(analyte, unit, lo, True, id=f"{analyte}-{unit}-low")
            yield pytest.param(analyte, unit, lo - step, False, id=f"{analyte}-{unit}-below")
            yield pytest.param(analyte, unit, hi, True, id=f"{analyte}-{unit}-high")
            yield pytest.param(analyte, unit, hi + step, False, id=f"{analyte}-{unit}-above")


def _limits(analyte: str, unit: str) -> dict[str, Fraction]:
    if analyte not in ULN_FOR:
        return {}
    return {"uln": ULN_FOR[analyte] / SPECS[Analyte(analyte)].factors[unit]}


@pytest.mark.parametrize(("analyte", "unit", "value", "accepted"), list(_value_cases()))
def test_value_boundaries_in_every_unit(analyte, unit, value, accepted):
    field = f"labs.{analyte}"
    if accepted:
        lab = lab_value(analyte, value, unit, field=field, **_limits(analyte, unit))
        assert lab.quantity.value == value
        return
    with pytest.raises(RulesInputError) as error:
        lab_value(analyte, value, unit, field=field, **_limits(analyte, unit))
    assert error.value.field == f"{field}.value"
    assert "accepted range is" in error.value.message
    assert SPECS[Analyte(analyte)].label in error.value.message


def _uln_cases():
    for analyte, (low, high) in ULN_TABLE.items():
        for unit, factor in SPECS[Analyte(analyte)].factors.items():
            lo, hi = low / factor, high / factor
            yield pytest.param(analyte, unit, lo, True, id=f"{analyte}-uln-{unit}-low")
            yield pytest.param(analyte, unit, lo - STEP, False, id=f"{analyte}-uln-{unit}-below")
            yield pytest.param(analyte, unit, hi, True, id=f"{analyte}-uln-{unit}-high")
            yield pytest.param(analyte, unit, hi + STEP, False, id=f"{analyte}-uln-{unit}-above")


@pytest.mark.parametrize(("analyte", "unit", "uln", "accepted"), list(_uln_cases()))
def test_uln_boundaries_in_the_values_unit(analyte, unit, uln, accepted):
    value = F(1) / SPECS[Analyte(analyte)].factors[unit]
    if accepted:
        assert lab_value(analyte, value, unit, uln=uln).uln == uln
        return
    with pytest.raises(RulesInputError) as error:
        lab_value(analyte, value, unit, uln=uln, field=f"labs.{analyte}")
    assert error.value.field == f"labs.{analyte}.uln"
    assert "accepted range is" in error.value.message


PLAIN = [(name, low, high) for name, (low, high, *_rest) in PLAIN_RANGES.items()]


@pytest.mark.parametrize(("name", "low", "high"), PLAIN, ids=[p[0] for p in PLAIN])
def test_plain_number_boundaries(name, low, high):
    assert plausible(name, low, name) == low
    assert plausible(name, high, name) == high
    for outside in (low - STEP, high + STEP):
        with pytest.raises(RulesInputError) as error:
            plausible(name, outside, f"x.{name}")
        assert error.value.field == f"x.{name}"
        assert "accepted range is" in error.value.message


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda v: Patient("F", v, 60), "patient.age_years"),
        (lambda v: Patient("F", 60, v), "patient.weight_kg"),
        (lambda v: Baseline(weight_kg=v), "baseline.weight_kg"),
        (lambda v: Baseline(age_years=v), "baseline.age_years"),
        (lambda v: Labs(prothrombin_ratio_percent=v), "labs.prothrombin_ratio_percent"),
        (lambda v: Labs(inr=v), "labs.inr"),
    ],
)
def test_plain_inputs_name_their_field(build, field):
    name = field.rsplit(".", 1)[1]
    low, high, *_rest = PLAIN_RANGES[name]
    build(low)
    build(high)
    for outside in (low - STEP, high + STEP):
        with pytest.raises(RulesInputError) as error:
            build(outside)
        assert error.value.field == field


@pytest.mark.parametrize(
    ("path", "item", "field", "range_text"),
    [
        # The reviewer's cases: a bilirubin ULN in the wrong unit, 5,000,000 platelets per µL,
        # albumin 100 g/L, AST without its ULN.
        (("labs", "bilirubin"), {"value": 20, "unit": "umol/L", "uln": 1.2}, "labs.bilirubin.uln",
         "5.13–51.3 µmol/L"),
        (("labs", "platelets"), {"value": 5000000, "unit": "/uL"}, "labs.platelets.value",
         "0–2,000,000 /µL (0–2,000 ×10⁹/L)"),
        (("labs", "albumin"), {"value": 100, "unit": "g/L"}, "labs.albumin.value", "5–70 g/L"),
        (("labs", "ast"), {"value": 900, "unit": "U/L"}, "labs.ast.uln", "10–200 U/L"),
        (("labs", "bilirubin"), {"value": 0.6, "unit": "mg/dL"}, "labs.bilirubin.uln",
         "0.3–3 mg/dL"),
        (("labs", "hemoglobin"), {"value": 1.2, "unit": "mmol/L"}, "labs.hemoglobin.value",
         "about 1.2415–15.5183 mmol/L (20–250 g/L)"),
        (("labs", "prothrombin_ratio_percent"), 4, "labs.prothrombin_ratio_percent", "5–200 %"),
        (("labs", "inr"), 16, "labs.inr", "0.5–15"),
        (("patient", "age_years"), 11, "patient.age_years", "12–120 years"),
        (("patient", "weight_kg"), 351, "patient.weight_kg", "20–350 kg"),
    ],
)
def test_scenario_errors_name_the_field_and_the_accepted_range(path, item, field, range_text):
    scenario = json.loads((SCENARIOS / "v01.json").read_text())["scenario"]
    scenario[path[0]][path[1]] = item
    with pytest.raises(RulesInputError) as error:
        assess(scenario)
    assert error.value.field == field
    assert range_text in error.value.message


def test_zero_is_plausible_only_where_the_table_starts_at_zero():
    assert quantity("platelets", 0, "10^9/L").canonical == 0
    assert quantity("bilirubin", 0, "mg/dL").canonical == 0
    for analyte, unit in (("hemoglobin", "g/L"), ("creatinine", "umol/L"), ("albumin", "g/L")):
        with pytest.raises(RulesInputError):
            quantity(analyte, 0, unit)
