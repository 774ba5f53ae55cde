"""Analytes, the units each accepts, exact conversion and plausibility checks (§4.1).

Every value is held as a :class:`fractions.Fraction`, so converting 110.6 µmol/L to mg/dL and back
loses nothing. Each analyte has one canonical unit (SI where the rules use SI) that rules compare
in. An unknown unit, a negative or non-finite number or a physiologically impossible value raises
:class:`RulesInputError` naming the field; a unit is never guessed (``G/L`` is not ``g/L``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType

from .errors import RulesInputError, join_path

Number = int | Fraction | Decimal | str | float


class Analyte(StrEnum):
    """The lab analytes the rules know, named as in the scenario contract (§5)."""

    PLATELETS = "platelets"
    HEMOGLOBIN = "hemoglobin"
    NEUTROPHILS = "neutrophils"
    WHITE_CELLS = "white_cells"
    LYMPHOCYTES = "lymphocytes"
    CREATININE = "creatinine"
    BILIRUBIN = "bilirubin"
    ALBUMIN = "albumin"
    AST = "ast"
    ALT = "alt"


CREATININE_UMOL_PER_MG_DL = Fraction("88.4")
BILIRUBIN_UMOL_PER_MG_DL = Fraction("17.1")
HEMOGLOBIN_G_L_PER_MMOL_L = Fraction("16.11")

_COUNT = MappingProxyType(
    {"10^9/L": Fraction(1), "/uL": Fraction(1, 1000), "/µL": Fraction(1, 1000),
     "/μL": Fraction(1, 1000), "/mm3": Fraction(1, 1000)}
)
_UMOL = ("umol/L", "µmol/L", "μmol/L")


@dataclass(frozen=True)
class AnalyteSpec:
    """What the rules know about one analyte: its canonical unit, the units it accepts (each with
    the exact factor to the canonical unit), the plausible range in the canonical unit (§4.6,
    both ends accepted) and, for terms graded against the upper limit of normal, whether a ULN is
    required and the range a ULN may take (canonical unit)."""

    analyte: Analyte
    canonical_unit: str
    display_unit: str
    factors: MappingProxyType[str, Fraction]
    minimum: Fraction
    maximum: Fraction
    needs_uln: bool = False
    uln_range: tuple[Fraction, Fraction] | None = None
    label: str = ""

    @property
    def zero_possible(self) -> bool:
        return self.minimum == 0

    def range_in(self, unit: str) -> tuple[Fraction, Fraction]:
        """The plausible range expressed in ``unit`` (exactly)."""
        factor = self.factors[unit]
        return self.minimum / factor, self.maximum / factor

    def uln_range_in(self, unit: str) -> tuple[Fraction, Fraction] | None:
        if self.uln_range is None:
            return None
        factor = self.factors[unit]
        return self.uln_range[0] / factor, self.uln_range[1] / factor


def _spec(
    analyte: Analyte,
    canonical: str,
    display: str,
    factors: dict[str, Fraction] | MappingProxyType[str, Fraction],
    minimum: object,
    maximum: object,
    *,
    label: str,
    uln_range: tuple[object, object] | None = None,
) -> AnalyteSpec:
    return AnalyteSpec(
        analyte, canonical, display, MappingProxyType(dict(factors)), Fraction(str(minimum)),
        Fraction(str(maximum)), needs_uln=uln_range is not None,
        uln_range=None if uln_range is None else (Fraction(str(uln_range[0])),
                                                  Fraction(str(uln_range[1]))),
        label=label,
    )


_ENZYME = {"U/L": Fraction(1), "IU/L": Fraction(1)}

# The plausible values of §4.6, after unit conversion, in each analyte's canonical unit. This is
# the one definition: the lab forms, the API and every import path validate through it.
SPECS: MappingProxyType[Analyte, AnalyteSpec] = MappingProxyType(
    {
        Analyte.PLATELETS: _spec(Analyte.PLATELETS, "10^9/L", "×10⁹/L", _COUNT, 0, 2000,
                                 label="platelets"),
        Analyte.NEUTROPHILS: _spec(Analyte.NEUTROPHILS, "10^9/L", "×10⁹/L", _COUNT, 0, 100,
                                   label="neutrophils"),
        Analyte.WHITE_CELLS: _spec(Analyte.WHITE_CELLS, "10^9/L", "×10⁹/L", _COUNT, 0, 500,
                                   label="white cells"),
        Analyte.LYMPHOCYTES: _spec(Analyte.LYMPHOCYTES, "10^9/L", "×10⁹/L", _COUNT, 0, 500,
                                   label="lymphocytes"),
        Analyte.HEMOGLOBIN: _spec(
            Analyte.HEMOGLOBIN, "g/L", "g/L",
            {"g/L": Fraction(1), "g/dL": Fraction(10), "mmol/L": HEMOGLOBIN_G_L_PER_MMOL_L},
            20, 250, label="haemoglobin",
        ),
        Analyte.CREATININE: _spec(  # 0.1–25 mg/dL
            Analyte.CREATININE, "umol/L", "µmol/L",
            {**{u: Fraction(1) for u in _UMOL}, "mg/dL": CREATININE_UMOL_PER_MG_DL},
            "8.84", 2210, label="creatinine",
        ),
        Analyte.BILIRUBIN: _spec(  # 0–50 mg/dL; ULN 0.3–3.0 mg/dL
            Analyte.BILIRUBIN, "umol/L", "µmol/L",
            {**{u: Fraction(1) for u in _UMOL}, "mg/dL": BILIRUBIN_UMOL_PER_MG_DL},
            0, 855, label="bilirubin", uln_range=("5.13", "51.3"),
        ),
        Analyte.ALBUMIN: _spec(
            Analyte.ALBUMIN, "g/L", "g/L", {"g/L": Fraction(1), "g/dL": Fraction(10)}, 5, 70,
            label="albumin",
        ),
        Analyte.AST: _spec(Analyte.AST, "U/L", "U/L", _ENZYME, 0, 20000, label="AST",
                           uln_range=(10, 200)),
        Analyte.ALT: _spec(Analyte.ALT, "U/L", "U/L", _ENZYME, 0, 20000, label="ALT",
                           uln_range=(10, 200)),
    }
)


def range_text(low: Fraction, high: Fraction, unit: str) -> str:
    """``0–2,000 ×10⁹/L``; a bound that is not a short decimal in this unit is shown to four
    significant decimals with "about" (haemoglobin in mmol/L)."""
    low_text, low_exact = _bound_text(low)
    high_text, high_exact = _bound_text(high)
    about = "" if low_exact and high_exact else "about "
    return f"{about}{low_text}–{high_text} {unit_label(unit)}"


def _bound_text(value: Fraction) -> tuple[str, bool]:
    for places in range(0, 5):
        scaled = value * 10**places
        if scaled.denominator == 1:
            text = f"{Decimal(scaled.numerator).scaleb(-places):,f}"
            return text, True
    approx = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{approx:,.4f}".rstrip("0").rstrip("."), False


def unit_label(unit: str) -> str:
    """How a unit is printed: ``10^9/L`` as ``×10⁹/L``, ``umol/L`` as ``µmol/L``."""
    if unit == "10^9/L":
        return "×10⁹/L"
    if unit.startswith("u"):
        return "µ" + unit[1:]
    return unit.replace("/uL", "/µL")


def check_range(number: Fraction, field: str, low: Fraction, high: Fraction, *, what: str,
                unit: str, canonical: tuple[Fraction, Fraction, str] | None = None,
                shown: object = None) -> Fraction:
    """Refuse ``number`` outside ``low``–``high`` (both accepted), naming the field and the
    accepted range (and the range in the canonical unit when it differs)."""
    if low <= number <= high:
        return number
    accepted = range_text(low, high, unit)
    if canonical is not None and canonical[2] != unit:
        accepted += f" ({range_text(*canonical)})"
    given = _bound_text(number)[0] if shown is None or isinstance(shown, Fraction) else shown
    raise RulesInputError(field, f"{what} {given} {unit_label(unit)} is not plausible: the "
                                 f"accepted range is {accepted}")


def exact(value: object, field: str) -> Fraction:
    """Turn a number into an exact Fraction, refusing booleans, NaN and infinities.

    Decimals and decimal strings are exact; a float is read as its shortest decimal form
    (``0.1`` is 1/10), which is the number a person typed.
    """
    if isinstance(value, bool):
        raise RulesInputError(field, "must be a number, not true/false")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            raise RulesInputError(field, f"'{value}' is not a number") from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RulesInputError(field, "must be a finite number (NaN and infinity are refused)")
        return Fraction(value)
    raise RulesInputError(field, f"must be a number, got {type(value).__name__}")


def non_negative(value: object, field: str, *, maximum: Fraction | int | None = None,
                 positive: bool = False) -> Fraction:
    """An exact number that is >= 0 (or > 0) and at most ``maximum``."""
    number = exact(value, field)
    if number < 0:
        raise RulesInputError(field, f"must not be negative (got {value})")
    if positive and number == 0:
        raise RulesInputError(field, "must be greater than zero")
    if maximum is not None and number > maximum:
        raise RulesInputError(field, f"{value} is not plausible (at most {maximum} accepted)")
    return number


@dataclass(frozen=True)
class Quantity:
    """An exact amount of one analyte in one accepted unit. Build it with :func:`quantity`."""

    analyte: Analyte
    value: Fraction
    unit: str

    @property
    def spec(self) -> AnalyteSpec:
        return SPECS[self.analyte]

    @property
    def canonical(self) -> Fraction:
        """The value in the analyte's canonical unit, exactly."""
        return self.value * self.spec.factors[self.unit]

    def to(self, unit: str) -> Quantity:
        """The same amount in another accepted unit, exactly."""
        return convert(self, unit)


def quantity(analyte: Analyte | str, value: object, unit: str, *, field: str = "") -> Quantity:
    """Validate and build a :class:`Quantity`; errors name ``<field>.unit`` or ``<field>.value``.

    The value must be finite and, after conversion, inside the plausible range of §4.6 (both
    ends accepted); the error gives the accepted range in the value's unit.
    """
    try:
        analyte = Analyte(analyte)
    except ValueError:
        raise RulesInputError(field or "analyte", f"unknown analyte '{analyte}'") from None
    spec = SPECS[analyte]
    if not isinstance(unit, str) or unit not in spec.factors:
        accepted = ", ".join(spec.factors)
        raise RulesInputError(
            join_path(field, "unit"), f"unknown unit '{unit}' for {analyte}; accepted: {accepted}"
        )
    value_field = join_path(field, "value")
    number = exact(value, value_field)
    low, high = spec.range_in(unit)
    check_range(number, value_field, low, high, what=spec.label, unit=unit,
                canonical=(spec.minimum, spec.maximum, spec.canonical_unit), shown=value)
    return Quantity(analyte, number, unit)


def convert(q: Quantity, unit: str, *, field: str = "unit") -> Quantity:
    """Convert exactly to another accepted unit of the same analyte."""
    factors = q.spec.factors
    if unit not in factors:
        raise RulesInputError(field, f"unknown unit '{unit}' for {q.analyte}")
    return Quantity(q.analyte, q.canonical / factors[unit], unit)


def creatinine_mg_dl(q: Quantity) -> Fraction:
    """Serum creatinine in mg/dL, exactly (µmol/L divided by 88.4)."""
    if q.analyte is not Analyte.CREATININE:
        raise ValueError("creatinine_mg_dl needs a creatinine quantity")
    return q.canonical / CREATININE_UMOL_PER_MG_DL


@dataclass(frozen=True)
class LabValue:
    """A lab result: the quantity plus the lab's own limits of normal, in the same unit."""

    quantity: Quantity
    uln: Fraction | None = None
    lln: Fraction | None = None

    @property
    def analyte(self) -> Analyte:
        return self.quantity.analyte

    @property
    def canonical(self) -> Fraction:
        return self.quantity.canonical

    @property
    def factor(self) -> Fraction:
        return self.quantity.spec.factors[self.quantity.unit]

    @property
    def uln_canonical(self) -> Fraction | None:
        return None if self.uln is None else self.uln * self.factor

    @property
    def lln_canonical(self) -> Fraction | None:
        return None if self.lln is None else self.lln * self.factor


def lab_value(analyte: Analyte | str, value: object, unit: str, *, uln: object = None,
              lln: object = None, field: str = "") -> LabValue:
    """Validate and build a :class:`LabValue`. Limits are in the value's unit and must be
    positive and plausible; bilirubin, AST and ALT need their ULN, within the range of §4.6 (a
    ULN in another unit than the value, such as 1.2 with a value in µmol/L, is refused)."""
    q = quantity(analyte, value, unit, field=field)
    spec = q.spec
    limits: dict[str, Fraction | None] = {}
    for name, raw in (("uln", uln), ("lln", lln)):
        if raw is None:
            limits[name] = None
            continue
        path = join_path(field, name)
        limit = non_negative(raw, path, positive=True)
        uln_range = spec.uln_range_in(unit) if name == "uln" else None
        if uln_range is not None:
            check_range(limit, path, *uln_range, what=f"{spec.label} ULN", unit=unit,
                        canonical=(*spec.uln_range, spec.canonical_unit), shown=raw)
        elif limit * spec.factors[unit] > spec.maximum:
            raise RulesInputError(path, f"{name.upper()} {raw} is not plausible (at most "
                                        f"{range_text(*spec.range_in(unit), unit)})")
        limits[name] = limit
    if spec.needs_uln and limits["uln"] is None:
        assert spec.uln_range is not None
        raise RulesInputError(
            join_path(field, "uln"),
            f"{spec.label} needs the lab's upper limit of normal (ULN), in the value's unit: "
            f"accepted {range_text(*spec.uln_range_in(unit), unit)}")  # type: ignore[misc]
    return LabValue(q, limits["uln"], limits["lln"])
