from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template
from rest_framework import serializers

from enterprises import resident_id
from xinyidai.api.fields import MaskedIdField, MaskedPhoneField
from xinyidai.core import masking

RAW_ID = "44190019900307123X"
MASKED_ID = "441***********123X"
RAW_PHONE = "13812345678"
MASKED_PHONE = "138****5678"


def render(source: str, **context: Any) -> str:
    return Template("{% load masking %}" + source).render(Context(context))


def test_resident_id_module_re_exports_the_helpers() -> None:
    assert resident_id.mask is masking.mask
    assert resident_id.mask_phone is masking.mask_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (RAW_ID, MASKED_ID),
        ("11010519491231002x", "110***********002X"),
        ("４４１９００１９９００３０７１２３Ｘ", MASKED_ID),  # full-width digits
        ("441900900307123", "4*************3"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_filter(raw: str | None, expected: str) -> None:
    assert render("{{ v|mask_id }}", v=raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (RAW_PHONE, MASKED_PHONE),
        ("+86 138-1234-5678", MASKED_PHONE),
        ("0769-22123456", "********3456"),
        ("110", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_filter(raw: str | None, expected: str) -> None:
    assert render("{{ v|mask_phone }}", v=raw) == expected


def test_filters_accept_non_strings_and_chain_with_default() -> None:
    assert render("{{ v|mask_phone }}", v=13812345678) == MASKED_PHONE
    assert render('{{ v|mask_id|default:"—" }}', v="") == "—"


class PersonSerializer(serializers.Serializer):
    legal_rep_id = MaskedIdField()
    phone = MaskedPhoneField(source="contact")


class Holder:
    legal_rep_id = RAW_ID
    contact = RAW_PHONE


def test_serializer_fields_render_masked_values() -> None:
    assert PersonSerializer(Holder()).data == {"legal_rep_id": MASKED_ID, "phone": MASKED_PHONE}


def test_serializer_fields_are_read_only() -> None:
    serializer = PersonSerializer(data={"legal_rep_id": RAW_ID, "phone": RAW_PHONE})
    assert serializer.is_valid()
    assert serializer.validated_data == {}
    assert all(f.read_only for f in PersonSerializer().fields.values())


def test_serializer_fields_render_empty_as_empty_and_null_as_null() -> None:
    holder = Holder()
    holder.legal_rep_id, holder.contact = "", None  # type: ignore[assignment]
    assert PersonSerializer(holder).data == {"legal_rep_id": "", "phone": None}


@pytest.fixture
def personal_enterprise(enterprise: Any) -> Any:
    enterprise.legal_rep_id = RAW_ID
    enterprise.phone = RAW_PHONE
    enterprise.save()
    return enterprise


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/enterprises/registry/{uscc}/", "/enterprises/mine/", "/api/v1/enterprises/{uscc}/"]
)
def test_member_sees_only_masked_numbers(
    personal_enterprise: Any, enterprise_member: Any, login: Any, path: str
) -> None:
    response = login(enterprise_member).get(path.format(uscc=personal_enterprise.uscc))
    assert response.status_code == 200
    body = response.content.decode()
    assert RAW_ID not in body
    assert RAW_PHONE not in body
    assert MASKED_ID in body
    assert MASKED_PHONE in body


@pytest.mark.django_db
def test_api_detail_fields_are_masked(
    personal_enterprise: Any, enterprise_member: Any, login: Any
) -> None:
    body = login(enterprise_member).get(f"/api/v1/enterprises/{personal_enterprise.uscc}/").json()
    assert (body["legal_rep_id"], body["phone"]) == (MASKED_ID, MASKED_PHONE)
