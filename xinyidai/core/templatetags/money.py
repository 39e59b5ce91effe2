"""How money and rates read on a page: `{{ amount|yuan }}` → "1,234,567.80" (grouped whatever
the language, never in scientific notation), `{{ rate|pct }}` → "3.6" (no trailing zeros)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def yuan(value: object) -> str:
    number = _decimal(value)
    return "" if number is None else f"{number:,.2f}"


@register.filter
def pct(value: object) -> str:
    number = _decimal(value)
    if number is None:
        return ""
    text = f"{number.normalize():f}"
    return text
