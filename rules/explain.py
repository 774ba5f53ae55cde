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


MAX_PLACES = 40


def places_for(value: Fraction | int, thresholds: tuple[Fraction | int, ...],
               places: int = 2) -> int:
    """The fewest decimals (at least ``places``) with which ``value``, rounded half up, lies on
    the same side of every threshold (below, equal or above) as the exact value does."""
    value = Fraction(value)
    for digits in range(places, MAX_PLACES + 1):
        shown = Fraction(round_half_up(value, digits))
        # A threshold that is itself a longer decimal (a baseline clearance) is compared as it
        # would print at the same precision: a value equal to it prints equal.
        if all(_side(shown, Fraction(round_half_up(Fraction(t), digits)))
               == _side(value, Fraction(t)) for t in thresholds):
            return digits
    return MAX_PLACES


def fmt_cmp(value: Fraction | int, *thresholds: Fraction | int, places: int = 2) -> str:
    """Display ``value`` like :func:`fmt` (at most ``places`` decimals, no trailing zeros) unless
    that would move it onto the other side of, or onto, one of ``thresholds``; then with as many
    decimals as it takes. A printed comparison stays true: 74.999 against 75 is "74.999", never
    "75"; 3.0005 × ULN against 3 is "3.0005"; exactly 75 is "75"."""
    return fmt(value, places_for(value, thresholds, places))


def fmt_fixed_cmp(value: Fraction | int, *thresholds: Fraction | int, places: int = 1) -> str:
    """Like :func:`fmt_cmp` with a fixed number of decimals (creatinine clearance: 40.0,
    39.97 against 40, never 40.0 for a value below it)."""
    return fmt_fixed(value, places_for(value, thresholds, places))


def fmt_exact(value: Fraction | int, places: int = 6) -> str:
    """A limit or an input shown as given (up to ``places`` decimals, no trailing zeros)."""
    return fmt(value, places)


def json_cmp(value: Fraction | int, *thresholds: Fraction | int,
             places: int = 2) -> int | float:
    """:func:`as_json_number` with the decimals :func:`fmt_cmp` would print."""
    return as_json_number(value, places_for(value, thresholds, places))


def as_json_number(value: Fraction | Decimal | int, places: int = 2) -> int | float:
    """A JSON-friendly number rounded half-up to ``places`` decimals (ints stay ints)."""
    rounded = round_half_up(Fraction(value), places)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)
