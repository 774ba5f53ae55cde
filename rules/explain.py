"""What every result uses to explain itself: severities, findings and exact number display."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any


class Severity(StrEnum):
    """How strongly a finding speaks: ``block`` (not eligible / must not proceed), ``review``
    (a specialist must look), ``warning`` (to know or to complete)."""

    BLOCK = "block"
    REVIEW = "review"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One rule that fired: a machine-readable ``code``, its ``severity``, a sentence a clinician
    can read, and the ``values`` and ``thresholds`` it compared (display strings)."""

    code: str
    severity: Severity
    reason: str
    values: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "reason": self.reason,
            "values": dict(self.values),
            "thresholds": dict(self.thresholds),
        }


def sentence(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower-case units)."""
    return text[:1].upper() + text[1:]


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round an exact value to ``places`` decimals, halves away from zero, with no float step."""
    scale = 10**places
    scaled = abs(value) * scale
    units = math.floor(scaled + Fraction(1, 2))
    sign = -1 if value < 0 else 1
    return Decimal(sign * units).scaleb(-places)


def fmt(value: Fraction | int, places: int = 2) -> str:
    """Display a number with at most ``places`` decimals and no trailing zeros: 74, 39.68, 3.7."""
    rounded = round_half_up(Fraction(value), places)
    text = format(rounded.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def fmt_fixed(value: Fraction | int, places: int = 1) -> str:
    """Display with exactly ``places`` decimals (CrCl is shown as 40.0, not 40)."""
    return format(round_half_up(Fraction(value), places), "f")


def fmt_near(value: Fraction, threshold: Fraction, places: int = 1) -> str:
    """Display ``value`` with enough decimals that the reader sees the same side of ``threshold``
    the unrounded comparison used: 39.96 against 40 is shown as 39.96, never as 40.0."""
    value, threshold = Fraction(value), Fraction(threshold)
    for digits in range(places, 7):
        shown = Fraction(round_half_up(value, digits))
        if _side(shown, threshold) == _side(value, threshold):
            return fmt_fixed(value, digits)
    return fmt_fixed(value, 6)


def _side(a: Fraction, b: Fraction) -> int:
    return (a > b) - (a < b)


def as_json_number(value: Fraction | Decimal | int, places: int = 2) -> int | float:
    """A JSON-friendly number rounded half-up to ``places`` decimals (ints stay ints)."""
    rounded = round_half_up(Fraction(value), places)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)
