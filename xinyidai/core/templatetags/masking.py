"""`{% load masking %}` then `{{ value|mask_id }}` / `{{ value|mask_phone }}`."""

from __future__ import annotations

from typing import Any

from django import template

from xinyidai.core import masking

register = template.Library()


@register.filter
def mask_id(value: Any) -> str:
    return masking.mask(None if value is None else str(value))


@register.filter
def mask_phone(value: Any) -> str:
    return masking.mask_phone(None if value is None else str(value))
