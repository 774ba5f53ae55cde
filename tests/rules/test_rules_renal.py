"""Cockcroft–Gault (§4.2) in exact arithmetic, and the renal trigger (§4.3) at its boundaries."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from rules import (
    Baseline,
    Category,
    Patient,
    RulesInputError,
    creatinine_clearance,
    dose_decision,
    lab_value,
    quantity,
)
from tests.rules.rules_builders import C2_DUE, dose_input, labs

F = Fraction


def crcl(age, weight, sex, value, unit="mg/dL"):
    return creatinine_clearance(age_years=age, weight_kg=weight, sex=sex,
                                creatinine=quantity("creatinine", value, unit))


def test_v1_female_factor():
    result = crcl(62, 68, "F", "0.9")
    assert result.ml_min == F(78 * 68, 1) / (72 * F("0.9")) * F("0.85")
    assert result.display == "69.6"


def test_v2_exactly_forty():
    result = crcl(68, 50, "M", "1.25")
    assert result.ml_min == 40
    assert result.display == "40.0"
    assert result.formula == "(140 − 68) × 50 / (72 × 1.25)"


def test_v3_just_below_forty():
    result = crcl(68, 50, "M", "1.26")
    assert result.ml_min == F(3600) / F("90.72")
    assert result.ml_min < 40
    assert result.rounded == Decimal("39.7")


def test_v6_exact_si_versus_the_shortcut():
    exact = crcl(68, 50, "M", "110.6", "umol/L")
    assert exact.ml_min == F(72 * 50) * F("88.4") / (72 * F("110.6"))
    assert exact.ml_min < 40
    assert F(3996, 100) < exact.ml_min < F(3997, 100)
    # The common SI shortcut multiplies by 1.23 instead of dividing by 0.8136 (72 / 88.4):
    shortcut = F(72 * 50) * F("1.23") / F("110.6")
    assert shortcut > 40
    assert exact.display == "40.0"  # shown to one decimal, compared unrounded


def test_result_does_not_depend_on_the_unit():
    in_mg = crcl(55, 70, "F", "0.98")
    in_umol = crcl(55, 70, "F", F("0.98") * F("88.4"), "umol/L")
    assert in_mg.ml_min == in_umol.ml_min


@pytest.mark.parametrize(("value", "expected"), [("39.95", "40.0"), ("39.94", "39.9")])
def test_display_rounds_half_up(value, expected):
    # weight chosen so that CrCl equals the value exactly: (140-40) × w / 72 with creat 1.0
    weight = F(value) * 72 / 100
    assert crcl(40, weight, "M", "1").display == expected


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"age_years": 0}, "age_years"), ({"age_years": 121}, "age_years"),
     ({"weight_kg": -5}, "weight_kg"), ({"weight_kg": 401}, "weight_kg"), ({"sex": "X"}, "sex")],
)
def test_invalid_inputs(kwargs, field):
    args = {"age_years": 60, "weight_kg": 70, "sex": "M",
            "creatinine": quantity("creatinine", "1", "mg/dL"), **kwargs}
    with pytest.raises(RulesInputError) as error:
        creatinine_clearance(**args)
    assert error.value.field == field


def renal(creatinine, unit="mg/dL", *, patient=None, baseline=None):
    inp = dose_input(lab_values=labs(creatinine=(creatinine, unit)), patient=patient,
                     baseline=baseline)
    return dose_decision(inp, C2_DUE)


M68 = Patient("M", 68, 50)
B68 = Baseline(lab_value("creatinine", "0.95", "mg/dL"), 50, 68)


@pytest.mark.parametrize(
    ("value", "unit", "triggered"),
    [
        ("1.25", "mg/dL", False), ("1.26", "mg/dL", True), ("1.2499", "mg/dL", False),
        ("110.5", "umol/L", False), ("110.6", "umol/L", True), ("110.4", "umol/L", False),
    ],
)
def test_crcl_below_40_is_strict(value, unit, triggered):
    decision = renal(value, unit, patient=M68, baseline=B68)
    criteria = [t.criterion for t in decision.triggers]
    assert ("crcl_below_40" in criteria) is triggered
    assert decision.action == ("WITHHOLD" if triggered else "PROCEED")


F55 = Patient("F", 55, 70)
B55 = Baseline(lab_value("creatinine", "0.70", "mg/dL"), 70, 55)


@pytest.mark.parametrize(
    ("value", "unit", "triggered"),
    [("0.98", "mg/dL", True), ("0.979", "mg/dL", False), ("0.981", "mg/dL", True),
     (F("0.98") * F("88.4"), "umol/L", True), (F("0.979") * F("88.4"), "umol/L", False)],
)
def test_creatinine_rise_of_40_percent_is_inclusive(value, unit, triggered):
    decision = renal(value, unit, patient=F55, baseline=B55)
    assert ("creatinine_rise_40_percent" in [t.criterion for t in decision.triggers]) is triggered


@pytest.mark.parametrize(("weight", "triggered"), [(60, True), ("60.1", False), ("59.9", True)])
def test_crcl_fall_of_40_percent_is_inclusive(weight, triggered):
    # Creatinine unchanged; weight falls from 100 kg, so CrCl is exactly weight/100 of baseline.
    patient = Patient("M", 40, weight)
    baseline = Baseline(lab_value("creatinine", "1.0", "mg/dL"), 100, 40)
    decision = renal("1.0", patient=patient, baseline=baseline)
    assert [t.criterion for t in decision.triggers] == (["crcl_fall_40_percent"] if triggered
                                                        else [])


def test_v4_and_v5_numbers():
    v4 = renal("0.98", patient=F55, baseline=B55)
    assert (v4.crcl.display, v4.baseline_crcl.display) == ("71.7", "100.3")
    assert v4.triggers[0].value == 40
    v5 = renal("1.3", patient=Patient("M", 70, 60),
               baseline=Baseline(lab_value("creatinine", "1.0", "mg/dL"), 80, 70))
    assert (v5.crcl.display, v5.baseline_crcl.display) == ("44.9", "77.8")
    assert [t.criterion for t in v5.triggers] == ["crcl_fall_40_percent"]
    assert F(4230, 100) < v5.triggers[0].value < F(4231, 100)


def test_back_at_baseline_is_not_a_trigger_even_below_40():
    patient = Patient("M", 80, 50)
    baseline = Baseline(lab_value("creatinine", "1.1", "mg/dL"), 50, 80)
    decision = renal("1.1", patient=patient, baseline=baseline)
    assert decision.crcl.ml_min < 40
    assert decision.triggers == ()
    assert any("at or better than baseline" in r for r in decision.reasons)
    worse = renal("1.11", patient=patient, baseline=baseline)
    assert worse.trigger_categories == (Category.RENAL,)


def test_missing_baseline_is_said_not_guessed():
    inp = dose_input(lab_values=labs(creatinine=("1.0", "mg/dL")))
    inp = type(inp)(course=inp.course, patient=inp.patient, labs=inp.labs)
    decision = dose_decision(inp, C2_DUE)
    codes = [f.code for f in decision.findings]
    assert "DOSE.INPUT_MISSING.BASELINE_CREATININE" in codes
    assert decision.action == "PROCEED"
