from django import template

from netcare.numbers import plain, unit_display

register = template.Library()


@register.filter(name="plain")
def plain_filter(value) -> str:
    """A Decimal without exponent or trailing zeros: 210, 0.6, 3.7."""
    return plain(value)


@register.filter(name="unit")
def unit_filter(value: str) -> str:
    """×10⁹/L for 10^9/L, µmol/L for umol/L."""
    return unit_display(value or "")
