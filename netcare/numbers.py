"""Numbers as clinicians write them: no exponent, no trailing zeros."""

from decimal import Decimal


def plain(value) -> str:
    if value is None or value == "":
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f")


UNIT_DISPLAY = {"10^9/L": "×10⁹/L", "umol/L": "µmol/L", "/uL": "/µL"}


def unit_display(unit: str) -> str:
    """Units as printed on a lab report (the stored spelling stays ASCII)."""
    return UNIT_DISPLAY.get(unit, unit)
