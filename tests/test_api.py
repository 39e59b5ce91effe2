from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from django.test import Client

from enterprises import uscc

pytestmark = pytest.mark.django_db


def test_uscc_check_valid_code_normalised() -> None:
    code = uscc.generate(random.Random(3))
    typed = f" {code[:6].lower()}-{code[6:]} "
    body = Client().get("/api/v1/uscc/check/", {"code": typed}).json()
    assert body == {"valid": True, "normalized": code, "errors": [], "warnings": []}


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("", "empty"),
        ("9144190012345", "length"),
        ("91441900MA4W0RDNOK", "illegal_character"),
        ("Z1441900MA4W0RDN0K", "illegal_character"),
    ],
)
def test_uscc_check_errors(code: str, error: str) -> None:
    body = Client().get("/api/v1/uscc/check/", {"code": code}).json()
    assert body["valid"] is False
    assert body["normalized"] is None
    assert error in [e["code"] for e in body["errors"]]
    assert all(e["message"] for e in body["errors"])


def test_uscc_check_wrong_check_character_names_expected() -> None:
    code = uscc.generate(random.Random(4))
    wrong = "0" if code[-1] != "0" else "1"
    body = Client().get("/api/v1/uscc/check/", {"code": code[:-1] + wrong}).json()
    assert [e["code"] for e in body["errors"]] == ["check_character"]
    assert f"“{code[-1]}”" in body["errors"][0]["message"]


def test_me_shape_for_bank_officer(bank_officer: Any, login: Any) -> None:
    body = login(bank_officer).get("/api/v1/me/").json()
    bank = bank_officer.bank_membership.bank
    assert body == {
        "email": bank_officer.email,
        "full_name": bank_officer.full_name,
        "roles": ["bank_officer"],
        "mfa_enabled": True,
        "mfa_required": True,
        "enterprise": None,
        "bank": {"id": bank.pk, "name": bank.name, "role": "officer", "branch": "松山湖支行"},
    }


def test_me_for_enterprise_owner(enterprise_owner: Any, enterprise: Any, login: Any) -> None:
    body = login(enterprise_owner).get("/api/v1/me/").json()
    assert body["roles"] == ["enterprise_owner"]
    assert body["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name, "role": "owner"}
    assert body["bank"] is None
    assert body["mfa_required"] is False


def test_unauthenticated_error_shape() -> None:
    response = Client().get("/api/v1/me/")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["message"]


def test_schema_is_valid_openapi(db: Any) -> None:
    from openapi_spec_validator import validate

    response = Client().get("/api/v1/schema/")
    spec = yaml.safe_load(response.content)
    validate(spec)
    for path in ("/api/v1/uscc/check/", "/api/v1/me/", "/api/v1/claims/", "/api/v1/banks/"):
        assert path in spec["paths"]


def test_docs_page_uses_local_static_only() -> None:
    html = Client().get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_enterprise_detail_masks_resident_id(
    enterprise: Any, enterprise_owner: Any, login: Any
) -> None:
    body = login(enterprise_owner).get(f"/api/v1/enterprises/{enterprise.uscc}/").json()
    assert (
        body["legal_rep_id"]
        == enterprise.legal_rep_id[:3] + "*" * 11 + enterprise.legal_rep_id[-4:]
    )
    assert enterprise.legal_rep_id not in str(body)
    assert body["entity_type"] == "市场监管 / 企业"


def test_error_pages_are_chinese(login: Any, plain_user: Any) -> None:
    from django.test import RequestFactory

    from xinyidai.views import server_error

    not_found = login(plain_user).get("/no-such-page/")
    assert not_found.status_code == 404
    assert "页面不存在" in not_found.content.decode()
    forbidden = login(plain_user).get("/enterprises/registry/")
    assert forbidden.status_code == 403
    assert "无权访问" in forbidden.content.decode()
    crashed = server_error(RequestFactory().get("/"))
    assert crashed.status_code == 500
    assert "服务器出错了" in crashed.content.decode()


def test_registry_csv_export_keeps_filters_and_masks(
    credit_office: Any, enterprise: Any, other_enterprise: Any, login: Any
) -> None:
    import csv
    import io

    enterprise.address = "=cmd|' /C calc'!A0"
    enterprise.save()
    response = login(credit_office).get(
        "/enterprises/registry/", {"q": enterprise.uscc[:18], "export": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["uscc"] for r in rows] == [enterprise.uscc]
    assert rows[0]["legal_rep_id_masked"] == enterprise.legal_rep_id_masked
    assert enterprise.legal_rep_id not in text
    assert rows[0]["address"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["town"] == "长安镇"
