"""Units: exact conversion, accepted units, and refusal of impossible or malformed values."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from rules import SPECS, Analyte, RulesInputError, convert, lab_value, quantity
from rules.units import exact


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "canonical"),
    [
        ("platelets", "75000", "/uL", Fraction(75)),
        ("platelets", "75000", "/mm3", Fraction(75)),
        ("platelets", "75", "10^9/L", Fraction(75)),
        ("neutrophils", "900", "/µL", Fraction("0.9")),
        ("hemoglobin", "7.9", "g/dL", Fraction(79)),
        ("hemoglobin", "2", "mmol/L", Fraction("32.22")),
        ("hemoglobin", "5", "mmol/L", Fraction("80.55")),
        ("creatinine", "1", "mg/dL", Fraction("88.4")),
        ("creatinine", "110.6", "umol/L", Fraction("110.6")),
        ("creatinine", "110.6", "µmol/L", Fraction("110.6")),
        ("bilirubin", "1", "mg/dL", Fraction("17.1")),
        ("albumin", "2.8", "g/dL", Fraction(28)),
        ("ast", "41", "IU/L", Fraction(41)),
    ],
)
def test_conversion_to_canonical_is_exact(analyte, value, unit, canonical):
    assert quantity(analyte, value, unit).canonical == canonical


def test_round_trip_loses_nothing():
    q = quantity("creatinine", "110.6", "umol/L")
    there = convert(q, "mg/dL")
    assert there.value == Fraction("110.6") / Fraction("88.4")
    assert convert(there, "umol/L").value == Fraction("110.6")
    assert quantity("hemoglobin", "80", "g/L").to("mmol/L").to("g/dL").value == 8


def test_every_spec_has_its_canonical_unit_with_factor_one():
    for analyte, spec in SPECS.items():
        assert spec.factors[spec.canonical_unit] == 1, analyte
    assert set(SPECS) == set(Analyte)


@pytest.mark.parametrize("unit", ["G/L", "g/l", "mg/dl", "10e9/L", "", "mmol"])
def test_unknown_unit_is_refused_naming_the_field(unit):
    with pytest.raises(RulesInputError) as error:
        quantity("hemoglobin", "120", unit, field="labs.hemoglobin")
    assert error.value.field == "labs.hemoglobin.unit"
    assert "unknown unit" in error.value.message


@pytest.mark.parametrize(
    ("analyte", "value", "unit"),
    [
        ("platelets", "5001", "10^9/L"),
        ("platelets", "5000001", "/uL"),
        ("hemoglobin", "26", "g/dL"),
        ("creatinine", "41", "mg/dL"),
        ("albumin", "11", "g/dL"),
        ("neutrophils", "1001", "10^9/L"),
        ("hemoglobin", "0", "g/L"),
        ("creatinine", "0", "umol/L"),
        ("platelets", "-1", "10^9/L"),
    ],
)
def test_impossible_values_are_errors(analyte, value, unit):
    with pytest.raises(RulesInputError) as error:
        quantity(analyte, value, unit, field=f"labs.{analyte}")
    assert error.value.field == f"labs.{analyte}.value"


def test_upper_plausibility_limit_itself_is_accepted():
    assert quantity("platelets", "2000", "10^9/L").canonical == 2000
    assert quantity("platelets", "0", "10^9/L").canonical == 0


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("-inf"), True, "abc", None]
)
def test_non_numbers_are_refused(value):
    with pytest.raises(RulesInputError) as error:
        exact(value, "labs.inr")
    assert error.value.field == "labs.inr"


def test_floats_are_read_as_the_decimal_that_was_typed():
    assert exact(0.1, "x") == Fraction(1, 10)
    assert exact(Decimal("1.26"), "x") == Fraction(126, 100)


def test_unknown_analyte_is_refused():
    with pytest.raises(RulesInputError) as error:
        quantity("potassium", "4", "mmol/L", field="labs.potassium")
    assert error.value.field == "labs.potassium"


@pytest.mark.parametrize(("limit", "value"), [("uln", "0"), ("uln", "-1"), ("lln", "99999")])
def test_limits_must_be_positive_and_plausible(limit, value):
    with pytest.raises(RulesInputError) as error:
        lab_value("bilirubin", "1", "mg/dL", field="labs.bilirubin", **{limit: value})
    assert error.value.field == f"labs.bilirubin.{limit}"


def test_limits_are_converted_with_the_value():
    lab = lab_value("bilirubin", "3.6", "mg/dL", uln="1.2")
    assert lab.uln_canonical == Fraction("20.52")
    assert lab.canonical / lab.uln_canonical == 3
