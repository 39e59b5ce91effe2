"""Serializer fields that only ever render personal numbers masked."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from xinyidai.core.masking import mask, mask_phone


class MaskedIdField(serializers.CharField):
    """Read-only: the masked form of a resident ID attribute, e.g.
    `legal_rep_id = MaskedIdField()` renders 441***********123X. A string in the OpenAPI schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return mask(None if value is None else str(value))


class MaskedPhoneField(serializers.CharField):
    """Read-only: the masked form of a phone number attribute, e.g. `phone = MaskedPhoneField()`
    renders 138****5678. A string in the OpenAPI schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return mask_phone(None if value is None else str(value))
