from django import template

from netcare.numbers import plain

register = template.Library()


@register.filter(name="plain")
def plain_filter(value) -> str:
    """A Decimal without exponent or trailing zeros: 210, 0.6, 3.7."""
    return plain(value)
