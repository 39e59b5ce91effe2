"""The matching API: who may ask, masking until the enterprise authorises the bank, the opaque
reference the invitation endpoint takes, filters and limits; and recommended products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from banks import products as product_services
from banks.models import Bank, LoanProduct
from enterprises.models import AccessLog, Enterprise
from lending import invitations, matching
from tests.factories import EnterpriseFactory, UserFactory, make_enterprise_member
from tests.lending.test_matching import authorize, grade

pytestmark = pytest.mark.django_db


def url(product: LoanProduct, query: str = "") -> str:
    return f"/api/v1/products/{product.pk}/matches/{query}"


@pytest.fixture
def city(bank: Bank, other_bank: Bank) -> dict[str, Enterprise]:
    firms = {
        "open": EnterpriseFactory.create(name="东莞市长安精密模具有限公司", town="changan"),
        "known": EnterpriseFactory.create(name="东莞市松湖智能科技有限公司", town="songshanhu"),
        "shy": EnterpriseFactory.create(name="东莞市不公开实业有限公司"),
        "theirs": EnterpriseFactory.create(name="东莞市别家贸易有限公司"),
    }
    grade(firms["open"], "A", 900)
    grade(firms["known"], "B", 780)
    grade(firms["shy"], "A", 950)
    grade(firms["theirs"], "A", 940)
    authorize(firms["open"])
    authorize(firms["known"], bank)  # opted in to this bank only
    authorize(firms["known"], bank, purpose="loan_application")
    authorize(firms["theirs"], other_bank)
    matching.refresh_profiles()
    return firms


def test_bank_sees_recommended_enterprises_masked_until_authorised(
    product: LoanProduct, city: dict[str, Enterprise], bank_officer: Any, login: Any
) -> None:
    response = login(bank_officer).get(url(product))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["product"] == {"id": product.pk, "name": "科创信用贷", "version": 1}
    assert body["count"] == 2
    first, second = body["results"]
    # not authorised: masked, no code, an opaque reference the invitation endpoint accepts
    assert first["name"] == "东莞市****模具有限公司"
    assert first["uscc"] is None and first["bank_authorized"] is False
    assert city["open"].uscc not in response.content.decode()
    assert invitations.enterprise_from_ref(first["ref"]) == city["open"].pk
    assert first["grade"] == "A" and first["score"] == 900 and first["fit"] == 910
    assert first["industry_name"] == "制造业" and first["town_name"] == "长安镇"
    assert first["scale_name"] == "小型"
    assert first["reasons"] == ["信用等级 A（900 分）", "属于重点行业：制造业"]
    # authorised (a loan-application authorisation to this bank): who it is
    assert second["name"] == "东莞市松湖智能科技有限公司"
    assert second["uscc"] == city["known"].uscc and second["bank_authorized"] is True
    assert second["reasons"][-1] == "位于重点镇街：松山湖"


def test_filters_and_limit_validation(
    product: LoanProduct, city: dict[str, Enterprise], bank_officer: Any, login: Any
) -> None:
    client = login(bank_officer)

    def names(query: str) -> list[str]:
        response = client.get(url(product, query))
        assert response.status_code == 200, response.json()
        return [row["town"] for row in response.json()["results"]]

    assert names("?town=songshanhu") == ["songshanhu"]
    assert names("?grade=A") == ["changan"]
    assert names("?industry=F") == []
    assert names("?has_demand=true") == []
    assert names("?has_demand=false&limit=1") == ["changan"]
    assert names("?town=&grade=") == ["changan", "songshanhu"]
    for bad in ("?limit=0", "?limit=501", "?limit=x", "?town=mars", "?grade=E", "?industry=Z"):
        response = client.get(url(product, bad))
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid"
    assert client.get(url(product, "?limit=500")).status_code == 200


def test_who_may_ask(
    product: LoanProduct,
    city: dict[str, Enterprise],
    bank_admin: Any,
    credit_office: Any,
    other_bank_officer: Any,
    enterprise_owner: Any,
    login: Any,
) -> None:
    assert login(bank_admin).get(url(product)).json()["count"] == 2
    assert login(credit_office).get(url(product)).json()["count"] == 2
    assert login(other_bank_officer).get(url(product)).status_code == 404
    assert login(enterprise_owner).get(url(product)).status_code == 404
    assert Client().get(url(product)).status_code in (401, 403)
    # an officer without the second factor is stopped like everywhere else
    assert login(other_bank_officer, mfa=False).get(url(product)).status_code in (403, 404)


def test_a_product_not_listed_has_no_matches(
    product: LoanProduct, bank_admin: Any, credit_office: Any, login: Any
) -> None:
    product_services.product_move(actor=bank_admin, product_id=product.pk, move="suspend")
    response = login(bank_admin).get(url(product))
    assert response.status_code == 409 and response.json()["code"] == "product_not_listed"


def test_opted_in_to_another_bank_is_listed_there_only(
    product: LoanProduct,
    other_product: LoanProduct,
    city: dict[str, Enterprise],
    bank_officer: Any,
    other_bank_officer: Any,
    login: Any,
) -> None:
    mine = login(bank_officer).get(url(product)).json()["results"]
    theirs = login(other_bank_officer).get(url(other_product)).json()["results"]
    assert [invitations.enterprise_from_ref(r["ref"]) for r in mine] == [
        city["open"].pk,
        city["known"].pk,
    ]
    assert [invitations.enterprise_from_ref(r["ref"]) for r in theirs] == [
        city["theirs"].pk,
        city["open"].pk,
    ]


# ---------------------------------------------------------------------------------------------
# Recommended products
# ---------------------------------------------------------------------------------------------
def rec_url(enterprise: Enterprise, query: str = "") -> str:
    return f"/api/v1/enterprises/{enterprise.uscc}/recommended-products/{query}"


def test_recommended_products_for_members_and_the_office(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_member: Any,
    other_enterprise: Enterprise,
    bank_officer: Any,
    credit_office: Any,
    login: Any,
) -> None:
    grade(enterprise, "B", 760)
    response = login(enterprise_member).get(rec_url(enterprise))
    assert response.status_code == 200, response.json()
    (row,) = response.json()
    assert row["id"] == product.pk and row["version"] == 1 and row["name"] == "科创信用贷"
    assert row["bank"] == {"id": product.bank_id, "name": "东莞示范银行"}
    assert row["fit"] == 46 and row["demand_fits"] is False and row["approval_rate"] is None
    assert row["rate_min"] == "3.4500" and row["amount_max"] == "3000000.00"
    assert row["reasons"][0] == "年利率 3.45%–4.2%"
    # lower case and spaces are accepted in the code, as elsewhere
    assert login(enterprise_member).get(rec_url(enterprise).lower()).status_code == 200
    # someone else's enterprise, a bank, nobody: not found
    outsider = UserFactory.create()
    make_enterprise_member(outsider, other_enterprise, "owner")
    assert login(outsider).get(rec_url(enterprise)).status_code == 404
    assert login(bank_officer).get(rec_url(enterprise)).status_code == 404
    assert Client().get(rec_url(enterprise)).status_code in (401, 403)
    missing = rec_url(EnterpriseFactory.build())
    assert login(enterprise_member).get(missing).status_code == 404
    # the credit office states a reason, and the read is logged
    office = login(credit_office)
    refused = office.get(rec_url(enterprise))
    assert refused.status_code == 403 and refused.json()["code"] == "reason_required"
    assert office.get(rec_url(enterprise, "?reason=核查推荐")).status_code == 200
    log = AccessLog.objects.get(enterprise=enterprise)
    assert (log.reason, log.scope) == ("核查推荐", "summary")
    # limit
    assert login(enterprise_member).get(rec_url(enterprise, "?limit=0")).status_code == 400
    assert login(enterprise_member).get(rec_url(enterprise, "?limit=51")).status_code == 400


def test_recommended_products_follow_the_open_demand(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any, login: Any
) -> None:
    from tests.lending.conftest import submit_demand

    submit_demand(enterprise_owner, amount=Decimal("2000000"), term_months=24)
    (row,) = login(enterprise_owner).get(rec_url(enterprise)).json()
    assert row["fit"] == 46 + 30 and row["demand_fits"] is True
    assert row["reasons"][1] == (
        "额度 10–300 万元、期限 6–36 个月，覆盖贵企业的融资需求 200 万元 / 24 个月"
    )


def test_schema_describes_both_endpoints(login: Any, credit_office: Any) -> None:
    schema = login(credit_office).get("/api/v1/schema/?format=json").json()
    matches = schema["paths"]["/api/v1/products/{id}/matches/"]["get"]
    assert {p["name"] for p in matches["parameters"]} >= {
        "limit",
        "town",
        "industry",
        "grade",
        "has_demand",
    }
    assert "/api/v1/enterprises/{uscc}/recommended-products/" in schema["paths"]
