"""CTCAE grades (§4.1) at every boundary, on both sides, in every accepted unit."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules import SPECS, Analyte, RulesConfig, ctcae_grade, grade_lab, lab_value

F = Fraction
STEP = F(1, 100)


def _around(bound: Fraction, below: int, at: int, above: int) -> list[tuple[Fraction, int]]:
    return [(bound - STEP, below), (bound, at), (bound + STEP, above)]


# (analyte, canonical value, expected v5.0 grade) around every boundary of the lower-limit terms;
# grade 0/1 uses the default LLN.
LOWER = [
    *[("platelets", v, g) for v, g in
      _around(F(25), 4, 3, 3) + _around(F(50), 3, 2, 2) + _around(F(75), 2, 1, 1)
      + _around(F(150), 1, 0, 0)],
    *[("hemoglobin", v, g) for v, g in
      _around(F(80), 3, 2, 2) + _around(F(100), 2, 1, 1) + _around(F(120), 1, 0, 0)],
    *[("neutrophils", v, g) for v, g in
      _around(F("0.5"), 4, 3, 3) + _around(F(1), 3, 2, 2) + _around(F("1.5"), 2, 1, 1)
      + _around(F(2), 1, 0, 0)],
    *[("white_cells", v, g) for v, g in
      _around(F(1), 4, 3, 3) + _around(F(2), 3, 2, 2) + _around(F(3), 2, 1, 1)
      + _around(F(4), 1, 0, 0)],
    *[("lymphocytes", v, g) for v, g in
      _around(F("0.2"), 4, 3, 3) + _around(F("0.5"), 3, 2, 2) + _around(F("0.8"), 2, 1, 1)
      + _around(F(1), 1, 0, 0)],
    *[("albumin", v, g) for v, g in
      _around(F(20), 3, 2, 2) + _around(F(30), 2, 1, 1) + _around(F(35), 1, 0, 0)],
]


def _cases(rows):
    for analyte, value, grade in rows:
        for unit in SPECS[Analyte(analyte)].factors:
            yield pytest.param(analyte, value, unit, grade, id=f"{analyte}-{value}-{unit}")


@pytest.mark.parametrize(("analyte", "canonical", "unit", "grade"), list(_cases(LOWER)))
def test_lower_limit_terms_in_every_unit(analyte, canonical, unit, grade):
    factor = SPECS[Analyte(analyte)].factors[unit]
    lab = lab_value(analyte, canonical / factor, unit)
    assert grade_lab(lab).grade == grade


# (analyte, multiple of the ULN, expected grade) around every boundary of the upper-limit terms.
UPPER = [
    *[(a, v, g) for a in ("creatinine", "bilirubin") for v, g in
      _around(F(1), 0, 0, 1) + _around(F("1.5"), 1, 1, 2) + _around(F(3), 2, 2, 3)],
    *[("creatinine", v, g) for v, g in _around(F(6), 3, 3, 4)],
    *[("bilirubin", v, g) for v, g in _around(F(10), 3, 3, 4)],
    *[(a, v, g) for a in ("ast", "alt") for v, g in
      _around(F(1), 0, 0, 1) + _around(F(3), 1, 1, 2) + _around(F(5), 2, 2, 3)
      + _around(F(20), 3, 3, 4)],
]
ULN = {"creatinine": F("1.1"), "bilirubin": F("1.2"), "ast": F(40), "alt": F(40)}


@pytest.mark.parametrize(("analyte", "multiple", "unit", "grade"), list(_cases(UPPER)))
def test_upper_limit_terms_in_every_unit(analyte, multiple, unit, grade):
    # ULN in mg/dL for creatinine and bilirubin, U/L for enzymes, converted to the test unit.
    spec = SPECS[Analyte(analyte)]
    uln_canonical = ULN[analyte] * spec.factors.get("mg/dL", F(1))
    factor = spec.factors[unit]
    lab = lab_value(analyte, multiple * uln_canonical / factor, unit, uln=uln_canonical / factor)
    assert grade_lab(lab).grade == grade


def test_v7_v13_v14_v17_grades():
    assert ctcae_grade("platelets", 75).grade == 1
    assert ctcae_grade("platelets", 74).grade == 2
    assert ctcae_grade("hemoglobin", 79).grade == 3
    assert ctcae_grade("hemoglobin", 80).grade == 2
    assert ctcae_grade("neutrophils", F("0.9")).grade == 3
    assert ctcae_grade("lymphocytes", F("0.15")).grade == 4


def test_ctcae_v6_moves_the_neutrophil_grades():
    v6 = RulesConfig(ctcae_version="6.0")
    assert ctcae_grade("neutrophils", F("0.9"), config=v6).grade == 2
    assert ctcae_grade("neutrophils", F("0.5"), config=v6).grade == 2
    assert ctcae_grade("neutrophils", F("0.49"), config=v6).grade == 3
    assert ctcae_grade("neutrophils", F("0.09"), config=v6).grade == 4
    assert ctcae_grade("neutrophils", F("0.9"), config=v6).version == "6.0"
    assert ctcae_grade("platelets", 74, config=v6).grade == 2


def test_the_result_lln_beats_the_default():
    assert ctcae_grade("platelets", 140).grade == 1
    assert ctcae_grade("platelets", 140, lln=130).grade == 0
    grade = ctcae_grade("platelets", 140)
    assert grade.limit_source == "centre default"
    assert "LLN 150" in grade.reason


def test_upper_limit_terms_without_uln_cannot_be_graded():
    grade = ctcae_grade("bilirubin", 70)
    assert grade.grade is None
    assert "no ULN" in grade.reason


def test_unknown_version_is_refused():
    with pytest.raises(ValueError, match="ctcae_version"):
        RulesConfig(ctcae_version="4.03")
