"""Typed, validated inputs shared by the dose rules and the course plan (§4, §5).

Each dataclass checks itself on construction and names the failing field by its path in the
scenario contract (``patient.age_years``, ``course.doses[1].date``), so Python callers and the
JSON scenario get the same errors. Numbers are stored as exact Fractions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from enum import StrEnum
from fractions import Fraction

from .errors import RulesInputError, join_path
from .units import SPECS, Analyte, LabValue, check_range, exact, non_negative

# Plausible values of §4.6 that are not lab analytes with units (both ends accepted).
AGE_RANGE = (Fraction(12), Fraction(120))  # years
WEIGHT_RANGE = (Fraction(20), Fraction(350))  # kg
PROTHROMBIN_RATIO_RANGE = (Fraction(5), Fraction(200))  # % (Quick)
INR_RANGE = (Fraction(1, 2), Fraction(15))
AGE_MAXIMUM = AGE_RANGE[1]
WEIGHT_MAXIMUM = WEIGHT_RANGE[1]
ACTIVITY_MAXIMUM_GBQ = Fraction(10)
PLAIN_RANGES = {
    "age_years": (*AGE_RANGE, "age", "years"),
    "weight_kg": (*WEIGHT_RANGE, "weight", "kg"),
    "prothrombin_ratio_percent": (*PROTHROMBIN_RATIO_RANGE, "prothrombin ratio", "%"),
    "inr": (*INR_RANGE, "INR", ""),
}


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


class Category(StrEnum):
    """Dose-modification categories of §4.3."""

    THROMBOCYTOPENIA = "thrombocytopenia"
    ANAEMIA = "anaemia"
    NEUTROPENIA = "neutropenia"
    RENAL = "renal"
    HEPATIC = "hepatic"
    OTHER = "other"
    HYPERSENSITIVITY = "hypersensitivity"


_CATEGORY_ALIASES = {"anemia": Category.ANAEMIA}


def to_category(value: object, field_path: str) -> Category:
    """Read a category name (``anemia`` is accepted for ``anaemia``)."""
    if isinstance(value, Category):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _CATEGORY_ALIASES:
            return _CATEGORY_ALIASES[key]
        try:
            return Category(key)
        except ValueError:
            pass
    accepted = ", ".join(c.value for c in Category)
    raise RulesInputError(field_path, f"unknown category '{value}'; accepted: {accepted}")


def to_sex(value: object, field_path: str) -> Sex:
    try:
        return Sex(value)
    except ValueError:
        raise RulesInputError(field_path, f"must be 'F' or 'M', got '{value}'") from None


def plausible(name: str, value: object, path: str) -> Fraction:
    """A plain number of §4.6 (``age_years``, ``weight_kg``, ``prothrombin_ratio_percent``,
    ``inr``) inside its plausible range; the error names the field and the range."""
    low, high, what, unit = PLAIN_RANGES[name]
    return check_range(exact(value, path), path, low, high, what=what, unit=unit, shown=value)


def _age(value: object, path: str) -> Fraction:
    return plausible("age_years", value, path)


def _weight(value: object, path: str) -> Fraction:
    return plausible("weight_kg", value, path)


@dataclass(frozen=True)
class Patient:
    """The patient now: sex, age in years and actual body weight in kg."""

    sex: Sex
    age_years: Fraction
    weight_kg: Fraction

    def __post_init__(self) -> None:
        object.__setattr__(self, "sex", to_sex(self.sex, "patient.sex"))
        object.__setattr__(self, "age_years", _age(self.age_years, "patient.age_years"))
        object.__setattr__(self, "weight_kg", _weight(self.weight_kg, "patient.weight_kg"))


@dataclass(frozen=True)
class Baseline:
    """Values before the first dose. Missing weight or age fall back to the patient's now."""

    creatinine: LabValue | None = None
    weight_kg: Fraction | None = None
    age_years: Fraction | None = None

    def __post_init__(self) -> None:
        if self.creatinine is not None and self.creatinine.analyte is not Analyte.CREATININE:
            raise RulesInputError("baseline.creatinine", "must be a creatinine result")
        if self.weight_kg is not None:
            object.__setattr__(self, "weight_kg", _weight(self.weight_kg, "baseline.weight_kg"))
        if self.age_years is not None:
            object.__setattr__(self, "age_years", _age(self.age_years, "baseline.age_years"))


@dataclass(frozen=True)
class Labs:
    """Pre-dose labs; every one may be absent. Prothrombin ratio (Quick %) and INR are plain
    numbers."""

    platelets: LabValue | None = None
    hemoglobin: LabValue | None = None
    neutrophils: LabValue | None = None
    white_cells: LabValue | None = None
    lymphocytes: LabValue | None = None
    creatinine: LabValue | None = None
    bilirubin: LabValue | None = None
    albumin: LabValue | None = None
    ast: LabValue | None = None
    alt: LabValue | None = None
    prothrombin_ratio_percent: Fraction | None = None
    inr: Fraction | None = None

    def __post_init__(self) -> None:
        for analyte in Analyte:
            lab = getattr(self, analyte.value)
            if lab is None:
                continue
            if lab.analyte is not analyte:
                raise RulesInputError(f"labs.{analyte}", f"holds a {lab.analyte} result")
            if SPECS[analyte].needs_uln and lab.uln is None:
                raise RulesInputError(f"labs.{analyte}.uln",
                                      f"{SPECS[analyte].label} needs the lab's ULN")
        for name in ("prothrombin_ratio_percent", "inr"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, plausible(name, getattr(self, name),
                                                         f"labs.{name}"))

    def get(self, analyte: Analyte) -> LabValue | None:
        return getattr(self, analyte.value)

    def present(self) -> tuple[LabValue, ...]:
        """The lab values given, in contract order."""
        values = (getattr(self, f.name) for f in fields(self))
        return tuple(v for v in values if isinstance(v, LabValue))


@dataclass(frozen=True)
class AdverseEvent:
    """A clinician-reported adverse event: a §4.3 ``category`` or a free ``term``, a CTCAE
    ``grade`` 1–5 and whether it is treatment-``related`` (None: not stated)."""

    grade: int
    category: Category | None = None
    term: str | None = None
    related: bool | None = None

    def validate(self, path: str) -> None:
        if isinstance(self.grade, bool) or not isinstance(self.grade, int):
            raise RulesInputError(join_path(path, "grade"), "must be a whole number 1–5")
        if not 1 <= self.grade <= 5:
            raise RulesInputError(join_path(path, "grade"), f"must be 1–5, got {self.grade}")
        if self.category is None and not (self.term and self.term.strip()):
            raise RulesInputError(path, "needs a 'category' or a 'term'")
        if self.related is not None and not isinstance(self.related, bool):
            raise RulesInputError(join_path(path, "related"), "must be true or false")


@dataclass(frozen=True)
class Dose:
    """One administered dose: cycle number (1-based), date and activity in GBq."""

    cycle: int
    date: dt.date
    activity_gbq: Fraction

    def validate(self, path: str) -> None:
        if isinstance(self.cycle, bool) or not isinstance(self.cycle, int) or self.cycle < 1:
            raise RulesInputError(join_path(path, "cycle"), "must be a whole number from 1")
        if isinstance(self.date, dt.datetime) or not isinstance(self.date, dt.date):
            raise RulesInputError(join_path(path, "date"), "must be a date")
        activity = non_negative(self.activity_gbq, join_path(path, "activity_gbq"),
                                maximum=ACTIVITY_MAXIMUM_GBQ, positive=True)
        object.__setattr__(self, "activity_gbq", activity)


def validate_doses(doses: tuple[Dose, ...], path: str, max_cycles: int | None = None) -> None:
    """Doses must be cycles 1, 2, 3… in order, on strictly increasing dates."""
    if max_cycles is not None and len(doses) > max_cycles:
        raise RulesInputError(path, f"{len(doses)} doses given; a course has at most {max_cycles}")
    for index, dose in enumerate(doses):
        item = join_path(path, index)
        dose.validate(item)
        if dose.cycle != index + 1:
            raise RulesInputError(join_path(item, "cycle"),
                                  f"doses must be listed in order: expected cycle {index + 1}, "
                                  f"got {dose.cycle}")
        if index and dose.date <= doses[index - 1].date:
            raise RulesInputError(join_path(item, "date"),
                                  f"{dose.date} is not after the previous dose "
                                  f"({doses[index - 1].date}): doses out of order")


@dataclass(frozen=True)
class Course:
    """The course so far: doses given, and the categories of the current episode (``withheld``,
    awaiting resolution) and of earlier, resolved episodes (``occurred``)."""

    doses: tuple[Dose, ...] = ()
    occurred_categories: frozenset[Category] = field(default_factory=frozenset)
    withheld_categories: frozenset[Category] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doses", tuple(self.doses))
        validate_doses(self.doses, "course.doses")
        for name in ("occurred_categories", "withheld_categories"):
            values = getattr(self, name)
            object.__setattr__(self, name, frozenset(
                to_category(v, f"course.{name}[{i}]") for i, v in enumerate(values)))
        both = self.occurred_categories & self.withheld_categories
        if both:
            raise RulesInputError(
                "course.withheld_categories",
                f"{', '.join(sorted(both))} also listed in occurred_categories: a category is "
                "either awaiting resolution or from an earlier, resolved episode",
            )


@dataclass(frozen=True)
class DoseInput:
    """Everything the dose decision reads (§4.3, §4.4); only ``course`` is required.

    ``dose_date`` is the day the dose would be given (the booked or planned infusion day); the
    timing warnings use it, and the assessment date when it is not given."""

    course: Course = field(default_factory=Course)
    patient: Patient | None = None
    baseline: Baseline | None = None
    labs: Labs = field(default_factory=Labs)
    adverse_events: tuple[AdverseEvent, ...] = ()
    labs_date: dt.date | None = None
    dose_date: dt.date | None = None

    def __post_init__(self) -> None:
        if self.dose_date is not None and (isinstance(self.dose_date, dt.datetime)
                                           or not isinstance(self.dose_date, dt.date)):
            raise RulesInputError("dose_date", "must be a date")
        object.__setattr__(self, "adverse_events", tuple(self.adverse_events))
        for index, event in enumerate(self.adverse_events):
            event.validate(join_path("adverse_events", index))
