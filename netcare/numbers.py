"""Numbers as clinicians write them: no exponent, no trailing zeros."""

from decimal import Decimal


def plain(value) -> str:
    if value is None or value == "":
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(number.normalize(), "f")
    return text
