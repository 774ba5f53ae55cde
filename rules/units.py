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
    the exact factor to the canonical unit) and the plausible range in the canonical unit."""

    analyte: Analyte
    canonical_unit: str
    display_unit: str
    factors: MappingProxyType[str, Fraction]
    maximum: Fraction
    zero_possible: bool = True


def _spec(
    analyte: Analyte,
    canonical: str,
    display: str,
    factors: dict[str, Fraction] | MappingProxyType[str, Fraction],
    maximum: int,
    zero_possible: bool = True,
) -> AnalyteSpec:
    return AnalyteSpec(
        analyte, canonical, display, MappingProxyType(dict(factors)), Fraction(maximum),
        zero_possible,
    )


_CREATININE = {"umol/L": Fraction(1), "mg/dL": CREATININE_UMOL_PER_MG_DL}
_BILIRUBIN = {"umol/L": Fraction(1), "mg/dL": BILIRUBIN_UMOL_PER_MG_DL}

SPECS: MappingProxyType[Analyte, AnalyteSpec] = MappingProxyType(
    {
        Analyte.PLATELETS: _spec(Analyte.PLATELETS, "10^9/L", "×10⁹/L", _COUNT, 5000),
        Analyte.NEUTROPHILS: _spec(Analyte.NEUTROPHILS, "10^9/L", "×10⁹/L", _COUNT, 1000),
        Analyte.WHITE_CELLS: _spec(Analyte.WHITE_CELLS, "10^9/L", "×10⁹/L", _COUNT, 1000),
        Analyte.LYMPHOCYTES: _spec(Analyte.LYMPHOCYTES, "10^9/L", "×10⁹/L", _COUNT, 1000),
        Analyte.HEMOGLOBIN: _spec(
            Analyte.HEMOGLOBIN, "g/L", "g/L",
            {"g/L": Fraction(1), "g/dL": Fraction(10), "mmol/L": HEMOGLOBIN_G_L_PER_MMOL_L},
            250, zero_possible=False,
        ),
        Analyte.CREATININE: _spec(
            Analyte.CREATININE, "umol/L", "µmol/L",
            {**{u: Fraction(1) for u in _UMOL}, "mg/dL": CREATININE_UMOL_PER_MG_DL},
            3536, zero_possible=False,  # 40 mg/dL
        ),
        Analyte.BILIRUBIN: _spec(
            Analyte.BILIRUBIN, "umol/L", "µmol/L",
            {**{u: Fraction(1) for u in _UMOL}, "mg/dL": BILIRUBIN_UMOL_PER_MG_DL},
            1710,  # 100 mg/dL
        ),
        Analyte.ALBUMIN: _spec(
            Analyte.ALBUMIN, "g/L", "g/L", {"g/L": Fraction(1), "g/dL": Fraction(10)}, 100,
            zero_possible=False,
        ),
        Analyte.AST: _spec(Analyte.AST, "U/L", "U/L", {"U/L": Fraction(1), "IU/L": Fraction(1)},
                           100000),
        Analyte.ALT: _spec(Analyte.ALT, "U/L", "U/L", {"U/L": Fraction(1), "IU/L": Fraction(1)},
                           100000),
    }
)


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

    The value must be finite, non-negative, non-zero where zero is impossible (haemoglobin,
    creatinine, albumin) and within the physiologically possible range.
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
    number = non_negative(value, value_field)
    if number == 0 and not spec.zero_possible:
        raise RulesInputError(value_field, f"a {analyte} of zero is not possible")
    result = Quantity(analyte, number, unit)
    if result.canonical > spec.maximum:
        raise RulesInputError(
            value_field,
            f"{analyte} {value} {unit} is physiologically impossible "
            f"(above {spec.maximum} {spec.canonical_unit})",
        )
    return result


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
    """Validate and build a :class:`LabValue`; limits must be positive and plausible."""
    q = quantity(analyte, value, unit, field=field)
    limits: dict[str, Fraction | None] = {}
    for name, raw in (("uln", uln), ("lln", lln)):
        if raw is None:
            limits[name] = None
            continue
        limit = non_negative(raw, join_path(field, name), positive=True)
        if limit * q.spec.factors[unit] > q.spec.maximum:
            raise RulesInputError(join_path(field, name), f"{name.upper()} {raw} is not plausible")
        limits[name] = limit
    return LabValue(q, limits["uln"], limits["lln"])
