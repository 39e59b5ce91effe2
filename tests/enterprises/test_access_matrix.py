"""Roles × scopes × purposes × authorisation states over every page and endpoint that reads
enterprise data: an independent oracle says what each reader may see, and nothing else leaks.
Every allowed third-party read leaves exactly one access-log row; a refused one leaves none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from enterprises.models import (
    SCOPE_LEVEL,
    AccessLog,
    Authorization,
    AuthorizationStatus,
    Enterprise,
)
from enterprises.scoring import regrade
from tests.factories import BankFactory, EnterpriseFactory, UserFactory, make_bank_member

pytestmark = pytest.mark.django_db

# (name, path, scope it needs, marker only present when the read succeeded at that scope)
READS = [
    ("api_detail", "/api/v1/enterprises/{uscc}/", "summary", '"legal_rep_name"'),
    ("api_summary", "/api/v1/enterprises/{uscc}/summary/", "summary", '"reasons"'),
    ("api_portrait", "/api/v1/enterprises/{uscc}/portrait/", "portrait", '"risk_tags"'),
    ("api_graph", "/api/v1/enterprises/{uscc}/graph/", "portrait", '"nodes"'),
    ("api_ownership", "/api/v1/enterprises/{uscc}/ownership/", "portrait", '"holders"'),
    ("api_records", "/api/v1/enterprises/{uscc}/records/", "records", '"results"'),
    ("page_detail", "/enterprises/registry/{uscc}/", "summary", "企业登记信息"),
    ("page_portrait", "/enterprises/registry/{uscc}/portrait/", "summary", "评价理由"),
]
STATES = ["none", "active", "expired", "revoked", "pending", "renewed", "other_bank", "all_banks"]
SCOPES = ["summary", "portrait", "records"]
ASKED_PURPOSES = ["", "pre_loan", "post_loan"]


def grant(
    enterprise: Enterprise, bank: Any, *, state: str, scope: str, purpose: str = "pre_loan"
) -> Authorization | None:
    if state == "none":
        return None
    now = timezone.now()
    owner = UserFactory.create()
    fields: dict[str, Any] = {
        "enterprise": enterprise,
        "grantee_bank": bank,
        "scope": scope,
        "purpose": purpose,
        "valid_from": now - timedelta(days=10),
        "valid_until": now + timedelta(days=300),
        "granted_by": owner,
        "digest": "0" * 64,
    }
    if state == "expired":  # past its end, whether or not the nightly job has marked it
        fields["valid_until"] = now - timedelta(seconds=1)
    elif state == "revoked":
        fields |= {"status": AuthorizationStatus.REVOKED, "ended_at": now - timedelta(hours=1)}
    elif state == "renewed":
        fields |= {"status": AuthorizationStatus.RENEWED, "ended_at": now - timedelta(hours=1)}
    elif state == "pending":
        fields["valid_from"] = now + timedelta(days=1)
    elif state == "other_bank":
        fields["grantee_bank"] = BankFactory.create()
    elif state == "all_banks":
        fields |= {"grantee_bank": None, "purpose": "matching"}
    return Authorization.objects.create(number=f"SQ-TEST-{state}-{scope}", **fields)


def oracle(*, state: str, granted: str, granted_purpose: str, needed: str, asked: str) -> bool:
    """Written apart from the code under test: in force, this bank (or all banks), wide
    enough, and for the purpose asked if one was asked."""
    in_force = state in ("active", "all_banks")
    purpose_ok = not asked or asked == granted_purpose
    return in_force and SCOPE_LEVEL[granted] >= SCOPE_LEVEL[needed] and purpose_ok


@pytest.fixture
def target(db: Any) -> Enterprise:
    enterprise = EnterpriseFactory.create(name="东莞市被查询科技有限公司")
    regrade([enterprise.pk])
    return enterprise


@pytest.mark.parametrize("reader", ["bank_officer", "bank_admin"])
@pytest.mark.parametrize("asked", ASKED_PURPOSES)
@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("state", STATES)
def test_bank_reads_follow_the_authorisation(
    state: str,
    scope: str,
    asked: str,
    reader: str,
    target: Enterprise,
    bank: Any,
    request: Any,
    login: Any,
) -> None:
    user = request.getfixturevalue(reader)
    authorization = grant(target, bank, state=state, scope=scope)
    granted_purpose = "matching" if state == "all_banks" else "pre_loan"
    client = login(user)
    for name, path, needed, marker in READS:
        url = path.format(uscc=target.uscc) + (f"?purpose={asked}" if asked else "")
        before = AccessLog.objects.count()
        response = client.get(url)
        body = response.content.decode()
        allowed = oracle(
            state=state, granted=scope, granted_purpose=granted_purpose, needed=needed, asked=asked
        )
        case = f"{name} state={state} scope={scope} asked={asked or '-'}"
        if allowed:
            assert response.status_code == 200, case
            assert marker in body, case
            log = AccessLog.objects.order_by("-id").first()
            assert AccessLog.objects.count() == before + 1, case
            assert log is not None and authorization is not None
            assert (log.user_id, log.bank_id, log.enterprise_id) == (user.pk, bank.pk, target.pk)
            assert log.authorization_id == authorization.pk
            assert log.purpose == granted_purpose
            # endpoints log the scope they serve; pages the widest scope they show
            assert log.scope == (scope if name.startswith("page_") else needed), case
            assert log.path == url and log.client_ip == "127.0.0.1"
        else:
            assert response.status_code == 403, case
            assert AccessLog.objects.count() == before, case
            assert marker not in body, case
            assert target.legal_rep_name not in body, case
            if name.startswith("api_"):
                error = response.json()
                assert error["code"] == "authorization_required", case
                assert error["detail"]["needed"]["scope"] == needed
                assert error["detail"]["grant_url"].startswith("/enterprises/authorizations/new/")
                assert f"scope={needed}" in error["detail"]["grant_url"]


@pytest.mark.parametrize("scope", SCOPES)
def test_page_sections_follow_the_scope(
    scope: str, target: Enterprise, bank: Any, bank_officer: Any, login: Any
) -> None:
    grant(target, bank, state="active", scope=scope)
    html = login(bank_officer).get(f"/enterprises/registry/{target.uscc}/portrait/").content
    text = html.decode()
    assert ("关联关系图谱" in text) is (scope != "summary")
    assert ("信用记录时间线" in text) is (scope == "records")
    detail = login(bank_officer).get(f"/enterprises/registry/{target.uscc}/").content.decode()
    assert ("公共信用记录" in detail) is (scope == "records")


def test_refusals_explain_what_is_missing(
    target: Enterprise, bank: Any, bank_officer: Any, login: Any
) -> None:
    client = login(bank_officer)
    url = f"/api/v1/enterprises/{target.uscc}/portrait/"
    nothing = client.get(url).json()
    assert "尚未向贵行授权" in nothing["message"]
    assert nothing["detail"]["grant_url"] in nothing["message"]
    narrow = grant(target, bank, state="active", scope="summary")
    assert "「信用摘要」" in client.get(url).json()["message"]
    assert narrow is not None
    Authorization.objects.filter(pk=narrow.pk).update(scope="portrait")
    wrong_purpose = client.get(url + "?purpose=post_loan").json()
    assert "「贷前调查」" in wrong_purpose["message"] and "「贷后管理」" in wrong_purpose["message"]
    Authorization.objects.filter(pk=narrow.pk).update(
        status=AuthorizationStatus.REVOKED, ended_at=timezone.now()
    )
    assert "被企业撤销" in client.get(url).json()["message"]
    page = client.get(f"/enterprises/registry/{target.uscc}/portrait/")
    assert page.status_code == 403
    assert "/enterprises/authorizations/new/" in page.content.decode()
    bad = client.get(url + "?purpose=shopping")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_purpose")


def test_revocation_takes_effect_on_the_next_read(
    target: Enterprise, bank: Any, bank_officer: Any, enterprise_owner: Any, login: Any
) -> None:
    authorization = grant(target, bank, state="active", scope="portrait")
    assert authorization is not None
    client = login(bank_officer)
    url = f"/api/v1/enterprises/{target.uscc}/portrait/"
    assert client.get(url).status_code == 200
    authorization.status = AuthorizationStatus.REVOKED
    authorization.save()
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("reader", ["enterprise_owner", "enterprise_admin", "enterprise_member"])
def test_the_enterprise_reads_itself_without_authorisation_or_log(
    reader: str, enterprise: Enterprise, request: Any, login: Any
) -> None:
    client = login(request.getfixturevalue(reader))
    for _name, path, _needed, marker in READS:
        response = client.get(path.format(uscc=enterprise.uscc))
        assert response.status_code == 200, path
        assert marker in response.content.decode(), path
    assert AccessLog.objects.count() == 0


@pytest.mark.parametrize(
    "reader", ["enterprise_owner", "trading_centre", "data_source", "plain_user"]
)
def test_other_roles_cannot_tell_the_enterprise_exists(
    reader: str, target: Enterprise, request: Any, login: Any
) -> None:
    """Another enterprise's staff, the trading centre, a data source, a bare account: 404 on
    every read, even with every kind of authorisation given to some bank."""
    bank = BankFactory.create()
    for state in ("active", "all_banks"):
        grant(target, bank, state=state, scope="records")
    client = login(request.getfixturevalue(reader))
    for _name, path, _needed, marker in READS:
        response = client.get(path.format(uscc=target.uscc) + "?reason=查看")
        assert response.status_code == 404, path
        assert marker not in response.content.decode()
    assert AccessLog.objects.count() == 0


def test_anonymous_reads_nothing(target: Enterprise) -> None:
    client = Client()
    for _name, path, _needed, marker in READS:
        response = client.get(path.format(uscc=target.uscc))
        assert response.status_code in (302, 403), path
        assert marker not in response.content.decode()


@pytest.mark.parametrize("reader", ["credit_office", "superuser"])
def test_credit_office_reads_need_a_reason_and_are_logged(
    reader: str, target: Enterprise, request: Any, login: Any
) -> None:
    user = request.getfixturevalue(reader)
    client = login(user)
    for name, path, _needed, marker in READS:
        url = path.format(uscc=target.uscc)
        refused = client.get(url)
        assert refused.status_code == 403, name
        assert marker not in refused.content.decode()
        if name.startswith("api_"):
            assert refused.json()["code"] == "reason_required"
        else:
            assert 'name="reason"' in refused.content.decode()  # the reason form
        response = client.get(url + "?reason=异议核查 YY-2026-0012")
        assert response.status_code == 200, name
        assert marker in response.content.decode()
        log = AccessLog.objects.order_by("-id").first()
        assert log is not None
        assert (log.user_id, log.role, log.reason) == (user.pk, reader, "异议核查 YY-2026-0012")
        assert log.bank_id is None and log.authorization_id is None
    assert AccessLog.objects.count() == len(READS)


def test_a_reason_given_on_a_page_covers_that_enterprise_for_a_while(
    target: Enterprise, credit_office: Any, login: Any
) -> None:
    client = login(credit_office)
    page = f"/enterprises/registry/{target.uscc}/portrait/"
    assert client.get(page).status_code == 403
    short = client.post(
        f"/enterprises/registry/{target.uscc}/reason/", {"reason": "看", "next": page}
    )
    assert short.status_code == 400 and "看" in short.content.decode()  # input kept
    done = client.post(
        f"/enterprises/registry/{target.uscc}/reason/", {"reason": "信用修复审核", "next": page}
    )
    assert done.status_code == 302 and done["Location"] == page
    assert client.get(page).status_code == 200
    assert client.get(f"/enterprises/registry/{target.uscc}/").status_code == 200
    assert list(AccessLog.objects.values_list("reason", flat=True)) == ["信用修复审核"] * 2
    other = EnterpriseFactory.create()
    assert client.get(f"/enterprises/registry/{other.uscc}/").status_code == 403


def test_reason_header_is_percent_decoded(
    target: Enterprise, credit_office: Any, login: Any
) -> None:
    response = login(credit_office).get(
        f"/api/v1/enterprises/{target.uscc}/summary/",
        HTTP_X_ACCESS_REASON="%E5%BC%82%E8%AE%AE%E6%A0%B8%E6%9F%A5",
    )
    assert response.status_code == 200
    assert AccessLog.objects.get().reason == "异议核查"


def test_other_bank_staff_cannot_use_this_banks_authorisation(
    target: Enterprise, bank: Any, login: Any
) -> None:
    grant(target, bank, state="active", scope="records")
    stranger = UserFactory.create()
    make_bank_member(stranger, BankFactory.create(), "officer")
    response = login(stranger).get(f"/api/v1/enterprises/{target.uscc}/summary/")
    assert response.status_code == 403
    assert AccessLog.objects.count() == 0


def test_records_endpoint_serves_the_records_with_their_source_data(
    target: Enterprise, bank: Any, bank_officer: Any, login: Any
) -> None:
    from datetime import date

    from enterprises.models import CreditRecord

    for sid, kind, day in (("A1", "penalty", date(2025, 3, 1)), ("A2", "honor", date(2026, 5, 1))):
        CreditRecord.objects.create(
            enterprise=target,
            uscc=target.uscc,
            record_type=kind,
            source_department="东莞市市场监督管理局",
            source_record_id=sid,
            decision_date=day,
            content="内容" + sid,
            raw={"原始字段": sid},
            content_hash=sid,
        )
    grant(target, bank, state="active", scope="records")
    client = login(bank_officer)
    url = f"/api/v1/enterprises/{target.uscc}/records/"
    body = client.get(url).json()
    assert [r["source_record_id"] for r in body["results"]] == ["A2", "A1"]  # newest first
    first = body["results"][1]
    assert first["raw"] == {"原始字段": "A1"} and first["record_type_name"] == "行政处罚"
    assert first["decision_date"] == "2025-03-01" and first["content"] == "内容A1"
    assert "uscc" not in first
    only = client.get(url + "?record_type=honor").json()["results"]
    assert [r["source_record_id"] for r in only] == ["A2"]
    year = client.get(url + "?year=2025").json()["results"]
    assert [r["source_record_id"] for r in year] == ["A1"]
