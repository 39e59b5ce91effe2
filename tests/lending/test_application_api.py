"""The application API from submission to closing, as the enterprise and the bank use it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from banks.models import LoanProduct
from enterprises.models import CreditRecord, Enterprise
from lending.models import PunishmentFeedback
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def apply(client: Client, product_id: int) -> Any:
    return post(
        client,
        "/api/v1/applications/",
        {
            "product": product_id,
            "amount": "500000",
            "term_months": 12,
            "repayment_method": "interest_first",
            "purpose": "采购原材料",
            "password": PASSWORD,
        },
    )


def test_from_submission_to_closing(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    credit_office: Any,
    login: Any,
) -> None:
    owner = login(enterprise_owner)
    created = apply(owner, product.pk)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["product"]["version"], body["enterprise"]["uscc"]) == (
        "submitted",
        1,
        enterprise.uscc,
    )
    assert body["allowed_moves"] == ["accept", "withdraw"]
    pk = body["id"]
    officer = login(bank_officer)
    queue = officer.get("/api/v1/applications/?status=submitted").json()["results"]
    assert [a["number"] for a in queue] == [body["number"]]
    base = f"/api/v1/applications/{pk}"
    assert post(officer, f"{base}/accept/").json()["officer"] == bank_officer.get_full_name()
    assert post(officer, f"{base}/start-review/").json()["status"] == "under_review"
    approved = post(
        officer,
        f"{base}/approve/",
        {"approved_amount": "450000", "approved_rate": "3.6", "approved_term_months": 12},
    ).json()
    assert (approved["status"], approved["approved_amount"]) == ("approved", "450000.00")
    early = post(owner, f"{base}/withdraw/")
    assert early.status_code == 409
    assert early.json()["detail"] == {"status": "approved", "allowed": ["disburse"]}
    disbursed = post(
        officer,
        f"{base}/disburse/",
        {
            "disbursed_amount": "450000",
            "disbursed_rate": "3.6",
            "disbursed_on": "2026-11-20",
            "contract_number": "HT-2026-001",
        },
    ).json()
    assert (disbursed["status"], disbursed["contract_number"]) == ("disbursed", "HT-2026-001")
    assert post(officer, f"{base}/close/").json()["status"] == "closed"
    # the office sees everything; the enterprise sees its own
    assert login(credit_office).get(f"{base}/").status_code == 200
    assert owner.get("/api/v1/applications/").json()["count"] == 1


def test_a_blocked_application_answers_403_and_keeps_the_feedback(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    login: Any,
) -> None:
    CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type="serious_dishonesty",
        source_department="东莞市发展和改革局",
        source_record_id="YZ-1",
        decision_date=date(2026, 4, 1),
        content_hash="YZ-1",
    )
    response = apply(login(enterprise_owner), product.pk)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "joint_punishment" and "严重失信主体名单" in body["message"]
    assert PunishmentFeedback.objects.count() == 1


def test_bad_input_is_named(
    product: LoanProduct,
    enterprise_owner: Any,
    login: Any,
) -> None:
    client = login(enterprise_owner)
    response = post(
        client,
        "/api/v1/applications/",
        {
            "product": product.pk,
            "amount": "50",
            "term_months": 12,
            "repayment_method": "interest_first",
            "purpose": "x",
            "password": PASSWORD,
        },
    )
    assert (response.status_code, response.json()["code"]) == (400, "amount_out_of_range")
    assert "amount" in response.json()["detail"]
    assert client.get("/api/v1/applications/?status=nope").status_code == 400
    assert Decimal(product.amount_min) == Decimal("100000")
