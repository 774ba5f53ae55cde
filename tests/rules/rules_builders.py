"""Builders for the clinical-rules tests: a normal patient before C2, with overrides."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from rules import (
    AdverseEvent,
    Baseline,
    Category,
    Course,
    Dose,
    DoseInput,
    Labs,
    Patient,
    lab_value,
)

C1_DATE = dt.date(2025, 1, 6)
C2_DUE = dt.date(2025, 3, 3)
FULL = Fraction("7.4")
REDUCED = Fraction("3.7")

NORMAL_LABS: dict[str, tuple[Any, str, dict[str, Any]]] = {
    "platelets": ("210", "10^9/L", {}),
    "hemoglobin": ("125", "g/L", {}),
    "neutrophils": ("3.2", "10^9/L", {}),
    "creatinine": ("0.9", "mg/dL", {}),
    "bilirubin": ("0.6", "mg/dL", {"uln": "1.2"}),
    "albumin": ("41", "g/L", {}),
}


def labs(prothrombin_ratio_percent: Any = 95, inr: Any = None, **overrides: Any) -> Labs:
    """Normal pre-dose labs; an override is (value, unit[, {uln/lln}]) or None to drop it."""
    values: dict[str, Any] = {}
    for name, default in {**NORMAL_LABS, **overrides}.items():
        if default is None:
            continue
        value, unit, *rest = default
        limits = rest[0] if rest else {}
        values[name] = lab_value(name, value, unit, field=f"labs.{name}", **limits)
    return Labs(prothrombin_ratio_percent=prothrombin_ratio_percent, inr=inr, **values)


def doses(*activities: str, start: dt.date = C1_DATE, gap_days: int = 56) -> tuple[Dose, ...]:
    return tuple(
        Dose(i + 1, start + dt.timedelta(days=gap_days * i), Fraction(a))
        for i, a in enumerate(activities)
    )


def dose_input(
    *,
    lab_values: Labs | None = None,
    given: tuple[Dose, ...] | None = None,
    occurred: tuple[str, ...] = (),
    withheld: tuple[str, ...] = (),
    events: tuple[AdverseEvent, ...] = (),
    patient: Patient | None = None,
    baseline: Baseline | None = None,
    labs_date: dt.date | None = None,
) -> DoseInput:
    """A female patient, 62 y, 68 kg, baseline creatinine 0.9 mg/dL, before C2 by default."""
    return DoseInput(
        course=Course(
            doses=doses("7.4") if given is None else given,
            occurred_categories=frozenset(Category(c) for c in occurred),
            withheld_categories=frozenset(Category(c) for c in withheld),
        ),
        patient=patient or Patient("F", 62, 68),
        baseline=baseline or Baseline(lab_value("creatinine", "0.9", "mg/dL"), 68, 62),
        labs=lab_values or labs(),
        adverse_events=events,
        labs_date=labs_date,
    )
