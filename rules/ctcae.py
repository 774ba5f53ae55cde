"""CTCAE grades of the lab analytes the rules use (§4.1), with the version as a setting.

Grades are computed in each analyte's canonical unit (see :mod:`rules.units`). Terms graded
against a lower limit (counts, haemoglobin, albumin) need the LLN only to tell grade 0 from
grade 1; when a result gives none, the centre's default LLN (``RulesConfig.default_lln``) is used
and the reason says so. Terms graded against the upper limit (creatinine, bilirubin, AST, ALT)
need the lab's ULN for every grade; without it they cannot be graded.

Version 6.0 moves the neutrophil grades (grade 3 starts below 0.5 ×10⁹/L instead of 1.0); the
other terms used here are graded as in 5.0. Check a centre's copy of v6.0 before enabling it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .config import DEFAULT_CONFIG, RulesConfig
from .errors import RulesInputError
from .explain import fmt_cmp, fmt_exact
from .units import SPECS, Analyte, LabValue, exact

F = Fraction

# Lower-limit terms: (grade, the value is below this) from the most severe grade down; below the
# LLN (and not below any listed bound) is grade 1.
_BELOW: dict[str, dict[Analyte, tuple[tuple[int, Fraction], ...]]] = {
    "5.0": {
        Analyte.PLATELETS: ((4, F(25)), (3, F(50)), (2, F(75))),
        Analyte.HEMOGLOBIN: ((3, F(80)), (2, F(100))),
        Analyte.NEUTROPHILS: ((4, F("0.5")), (3, F(1)), (2, F("1.5"))),
        Analyte.WHITE_CELLS: ((4, F(1)), (3, F(2)), (2, F(3))),
        Analyte.LYMPHOCYTES: ((4, F("0.2")), (3, F("0.5")), (2, F("0.8"))),
        Analyte.ALBUMIN: ((3, F(20)), (2, F(30))),
    },
}
_BELOW["6.0"] = {
    **_BELOW["5.0"],
    Analyte.NEUTROPHILS: ((4, F("0.1")), (3, F("0.5")), (2, F(1))),
}

# Upper-limit terms: (grade, the value is above this multiple of the ULN), most severe first;
# above the ULN itself is grade 1.
_ABOVE_ULN: dict[Analyte, tuple[tuple[int, Fraction], ...]] = {
    Analyte.CREATININE: ((4, F(6)), (3, F(3)), (2, F("1.5"))),
    Analyte.BILIRUBIN: ((4, F(10)), (3, F(3)), (2, F("1.5"))),
    Analyte.AST: ((4, F(20)), (3, F(5)), (2, F(3))),
    Analyte.ALT: ((4, F(20)), (3, F(5)), (2, F(3))),
}

TERMS = {
    Analyte.PLATELETS: "Platelet count decreased",
    Analyte.HEMOGLOBIN: "Anemia",
    Analyte.NEUTROPHILS: "Neutrophil count decreased",
    Analyte.WHITE_CELLS: "White blood cell decreased",
    Analyte.LYMPHOCYTES: "Lymphocyte count decreased",
    Analyte.ALBUMIN: "Hypoalbuminemia",
    Analyte.CREATININE: "Creatinine increased",
    Analyte.BILIRUBIN: "Blood bilirubin increased",
    Analyte.AST: "Aspartate aminotransferase increased",
    Analyte.ALT: "Alanine aminotransferase increased",
}


@dataclass(frozen=True)
class CtcaeGrade:
    """A CTCAE grade (0–4, or None when it cannot be determined) with what it was based on."""

    analyte: Analyte
    term: str
    grade: int | None
    version: str
    value: Fraction
    unit: str
    limit_kind: str | None
    limit: Fraction | None
    limit_source: str | None
    reason: str


def below_bound(analyte: Analyte, grade: int, config: RulesConfig = DEFAULT_CONFIG) -> Fraction:
    """The value a lower-limit term must be below to reach ``grade`` (e.g. platelets grade 2:
    below 75 ×10⁹/L; neutrophils grade 3: below 1.0 in v5.0, 0.5 in v6.0)."""
    for band_grade, bound in _BELOW[config.ctcae_version][analyte]:
        if band_grade == grade:
            return bound
    raise ValueError(f"{analyte} has no lab-defined grade {grade}")


def uln_multiple(analyte: Analyte, grade: int) -> Fraction:
    """The multiple of the ULN an upper-limit term must exceed to reach ``grade``."""
    if grade == 1:
        return F(1)
    for band_grade, multiple in _ABOVE_ULN[analyte]:
        if band_grade == grade:
            return multiple
    raise ValueError(f"{analyte} has no grade {grade}")


def ctcae_grade(
    analyte: Analyte | str,
    value_si: object,
    uln: object = None,
    lln: object = None,
    config: RulesConfig = DEFAULT_CONFIG,
) -> CtcaeGrade:
    """Grade one value given in the analyte's canonical unit (10^9/L, g/L, µmol/L, U/L), with the
    lab's limits in the same unit."""
    try:
        analyte = Analyte(analyte)
    except ValueError:
        raise RulesInputError("analyte", f"no CTCAE grading for '{analyte}'") from None
    value = exact(value_si, "value")
    uln_value = None if uln is None else exact(uln, "uln")
    lln_value = None if lln is None else exact(lln, "lln")
    spec = SPECS[analyte]
    unit = spec.display_unit
    version = config.ctcae_version
    term = TERMS[analyte]
    name = analyte.replace("_", " ")

    if analyte in _ABOVE_ULN:
        if uln_value is None or uln_value <= 0:
            shown = f"{term.lower()}: {name} {fmt_exact(value)} {unit}"
            return CtcaeGrade(analyte, term, None, version, value, unit, "ULN", None, None,
                              f"CTCAE {version} {shown} cannot be graded: no ULN given.")
        multiples = (F(1), *(m for _, m in _ABOVE_ULN[analyte]))
        ratio = value / uln_value
        grade = 0
        if ratio > 1:
            grade = next((g for g, m in _ABOVE_ULN[analyte] if ratio > m), 1)
        # Printed so that the value and its multiple of the ULN sit on the same side of every
        # grade boundary as the exact numbers: never "= 3 × ULN: grade 3".
        shown_value = fmt_cmp(value, *(m * uln_value for m in multiples))
        reason = (f"CTCAE {version} {term.lower()}: {name} {shown_value} {unit}, "
                  f"{fmt_cmp(ratio, *multiples)} × ULN (ULN {fmt_exact(uln_value)} {unit}): "
                  f"grade {grade}.")
        return CtcaeGrade(analyte, term, grade, version, value, unit, "ULN", uln_value,
                          "result", reason)

    bands = _BELOW[version][analyte]
    grade = next((g for g, bound in bands if value < bound), None)
    source = "result"
    limit = lln_value
    if limit is None:
        limit = config.default_lln.get(str(analyte))
        source = "centre default"
    bounds = tuple(bound for _, bound in bands) + (() if limit is None else (limit,))
    shown = f"{term.lower()}: {name} {fmt_cmp(value, *bounds)} {unit}"
    if grade is None:
        if limit is None:
            return CtcaeGrade(analyte, term, None, version, value, unit, "LLN", None, None,
                              f"CTCAE {version} {shown}: grade 0 or 1, no LLN given.")
        grade = 1 if value < limit else 0
    reason = f"CTCAE {version} {shown}: grade {grade}"
    if grade <= 1 and limit is not None:
        reason += f" (LLN {fmt_exact(limit)} {unit}, {source})"
    return CtcaeGrade(analyte, term, grade, version, value, unit, "LLN", limit,
                      source if limit is not None else None, reason + ".")


def grade_thresholds(result: CtcaeGrade, config: RulesConfig = DEFAULT_CONFIG
                     ) -> tuple[Fraction, ...]:
    """Every boundary ``result.value`` was compared with (in its canonical unit): the band bounds
    and the LLN of a lower-limit term, the ULN multiples of an upper-limit term. A value printed
    with :func:`rules.explain.fmt_cmp` against these never contradicts its grade."""
    if result.analyte in _ABOVE_ULN:
        if result.limit is None:
            return ()
        return tuple(m * result.limit for m in (F(1), *(m for _, m in _ABOVE_ULN[result.analyte])))
    bounds = tuple(bound for _, bound in _BELOW[config.ctcae_version][result.analyte])
    return bounds + (() if result.limit is None else (result.limit,))


def grade_lab(lab: LabValue, config: RulesConfig = DEFAULT_CONFIG) -> CtcaeGrade:
    """Grade a :class:`LabValue` (converted to canonical units first)."""
    return ctcae_grade(lab.analyte, lab.canonical, uln=lab.uln_canonical,
                       lln=lab.lln_canonical, config=config)
