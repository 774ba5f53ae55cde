"""Creatinine clearance by Cockcroft–Gault with actual body weight (§4.2), in exact arithmetic.

    CrCl (mL/min) = (140 − age) × weight / (72 × creatinine in mg/dL), × 0.85 if female

Creatinine in µmol/L is divided by 88.4 exactly. Nothing is rounded until display (one decimal),
and every comparison uses the unrounded Fraction: the SI shortcut ``× 1.23`` is not used because
it moves values across 40 mL/min (110.6 µmol/L gives 39.96 exactly, 40.04 by the shortcut).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .errors import RulesInputError
from .explain import fmt, fmt_fixed, round_half_up
from .inputs import Sex, plausible, to_sex
from .units import Analyte, LabValue, Quantity, creatinine_mg_dl

FEMALE_FACTOR = Fraction(85, 100)


@dataclass(frozen=True)
class CreatinineClearance:
    """An exact Cockcroft–Gault result and the inputs it used."""

    ml_min: Fraction
    age_years: Fraction
    weight_kg: Fraction
    sex: Sex
    creatinine_mg_dl: Fraction

    @property
    def rounded(self) -> Decimal:
        """One decimal, halves up: the displayed value (never used for comparisons)."""
        return round_half_up(self.ml_min, 1)

    @property
    def display(self) -> str:
        return fmt_fixed(self.ml_min, 1)

    @property
    def formula(self) -> str:
        """The arithmetic, e.g. ``(140 − 68) × 50 / (72 × 1.26)``; an inexact creatinine in
        mg/dL (converted from µmol/L) is shown to four decimals followed by an ellipsis."""
        mg_dl = fmt(self.creatinine_mg_dl, 4)
        if Fraction(mg_dl) != self.creatinine_mg_dl:
            mg_dl += "…"
        text = f"(140 − {fmt(self.age_years)}) × {fmt(self.weight_kg)} / (72 × {mg_dl})"
        return text + " × 0.85" if self.sex is Sex.FEMALE else text


def creatinine_clearance(
    *,
    age_years: object,
    weight_kg: object,
    sex: Sex | str,
    creatinine: Quantity | LabValue,
) -> CreatinineClearance:
    """Cockcroft–Gault creatinine clearance with actual body weight, exactly."""
    age = plausible("age_years", age_years, "age_years")
    weight = plausible("weight_kg", weight_kg, "weight_kg")
    sex = to_sex(sex, "sex")
    q = creatinine.quantity if isinstance(creatinine, LabValue) else creatinine
    if q.analyte is not Analyte.CREATININE:
        raise RulesInputError("creatinine", "must be a creatinine result")
    mg_dl = creatinine_mg_dl(q)
    if mg_dl <= 0:
        raise RulesInputError("creatinine", "must be greater than zero")
    value = (140 - age) * weight / (72 * mg_dl)
    if sex is Sex.FEMALE:
        value *= FEMALE_FACTOR
    return CreatinineClearance(value, age, weight, sex, mg_dl)
