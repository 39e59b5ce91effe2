"""The authorisation pages, the access-log page and the public ledger page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from banks.models import BankRole
from enterprises import authorization as services
from enterprises.models import (
    AccessLog,
    Authorization,
    AuthorizationEvent,
    EnterpriseRole,
)
from enterprises.selectors import ACCESS_LOG_CSV_HEADER, AUTHORIZATION_CSV_HEADER
from tests.factories import PASSWORD, UserFactory, make_bank_member, make_enterprise_member
from xinyidai.core import ledger
from xinyidai.core.models import LedgerAnchor, LedgerCheck, LedgerEntry, User

pytestmark = pytest.mark.django_db

LIST = "/enterprises/authorizations/"
NEW = "/enterprises/authorizations/new/"
ACCESS_LOG = "/enterprises/access-log/"


def grant(owner: User, enterprise: Any, bank: Any, **terms: Any) -> Authorization:
    terms.setdefault("scope", "portrait")
    terms.setdefault("purpose", "pre_loan")
    return services.authorization_grant(
        actor=owner,
        enterprise=enterprise,
        grantee_bank_id=bank.pk if bank else None,
        password=PASSWORD,
        **terms,
    )


def detail(authorization: Authorization) -> str:
    return f"/enterprises/authorizations/{authorization.pk}/"


def csv_lines(response: Any) -> list[list[str]]:
    import csv

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(text.splitlines()))


def html(response: Any) -> str:
    return str(response.content.decode())


def flash(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def other_owner(other_enterprise: Any) -> User:
    user = UserFactory.create(email="other.owner@example.com")
    make_enterprise_member(user, other_enterprise, EnterpriseRole.OWNER)
    return user


@pytest.fixture
def other_bank_admin(other_bank: Any) -> User:
    user = UserFactory.create(email="other.badmin@example.com")
    make_bank_member(user, other_bank, BankRole.ADMIN)
    return user


@pytest.fixture
def grants(
    enterprise_owner: User,
    enterprise: Any,
    other_owner: User,
    other_enterprise: Any,
    bank: Any,
    other_bank: Any,
) -> dict[str, Authorization]:
    """To our bank, to every bank (matching), and another enterprise's to another bank."""
    return {
        "to_bank": grant(enterprise_owner, enterprise, bank),
        "to_all": grant(enterprise_owner, enterprise, None, scope="summary", purpose="matching"),
        "elsewhere": grant(other_owner, other_enterprise, other_bank, scope="records"),
    }


# ---------------------------------------------------------------------------------------------
# List and CSV
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("enterprise_owner", {"to_bank", "to_all"}),
        ("enterprise_member", {"to_bank", "to_all"}),
        ("other_owner", {"elsewhere"}),
        ("bank_admin", {"to_bank", "to_all"}),
        ("bank_officer", {"to_bank", "to_all"}),
        ("other_bank_admin", {"to_all", "elsewhere"}),
        ("credit_office", {"to_bank", "to_all", "elsewhere"}),
    ],
)
def test_list_shows_each_tenant_only_its_authorizations(
    role: str, expected: set[str], grants: dict[str, Authorization], request: Any, login: Any
) -> None:
    page = html(login(request.getfixturevalue(role)).get(LIST))
    shown = {name for name, a in grants.items() if a.number in page}
    assert shown == expected


def test_a_bank_without_grants_sees_none(
    grants: dict[str, Authorization], login: Any, other_bank_admin: User
) -> None:
    response = login(other_bank_admin).get(LIST + "?state=active&grantee_bank=&scope=portrait")
    assert grants["to_bank"].number not in html(response)
    assert list(response.context["page"]) == []


def test_list_columns_filters_and_new_button(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User, credit_office: User
) -> None:
    owner = login(enterprise_owner)
    response = owner.get(LIST)
    page = html(response)
    assert "新建授权" in page
    assert "东莞示范银行" in page and "平台全部银行（融资对接）" in page
    assert "生效中" in page and "text-bg-success" in page
    # the enterprise's own name is not a column for the enterprise; a bank select is a filter
    assert set(response.context["form"].fields) == {
        "state",
        "scope",
        "purpose",
        "grantee_bank",
        "granted_from",
        "granted_to",
    }
    only_all = owner.get(LIST + "?grantee_bank=all").context["page"]
    assert [a.number for a in only_all] == [grants["to_all"].number]
    services.authorization_revoke(
        actor=enterprise_owner, authorization_id=grants["to_bank"].pk, reason="不再需要"
    )
    revoked = owner.get(LIST + "?state=revoked")
    assert [a.number for a in revoked.context["page"]] == [grants["to_bank"].number]
    assert "已撤销" in html(revoked) and "text-bg-danger" in html(revoked)

    office = login(credit_office).get(LIST + "?enterprise=另一家")
    assert [a.number for a in office.context["page"]] == [grants["elsewhere"].number]
    assert "东莞市另一家有限公司" in html(office)  # the enterprise column


def test_member_sees_no_new_button(
    grants: dict[str, Authorization], login: Any, enterprise_member: User
) -> None:
    assert "新建授权" not in html(login(enterprise_member).get(LIST))


def test_bank_filters_by_enterprise_not_bank(
    grants: dict[str, Authorization], login: Any, bank_admin: User
) -> None:
    response = login(bank_admin).get(LIST + "?scope=summary")
    assert "grantee_bank" not in response.context["form"].fields
    assert "enterprise" in response.context["form"].fields
    assert [a.number for a in response.context["page"]] == [grants["to_all"].number]


def test_csv_export_applies_the_filters(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User, enterprise: Any
) -> None:
    response = login(enterprise_owner).get(LIST + "?export=csv&scope=portrait")
    today = timezone.localdate()
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="authorizations-{today:%Y%m%d}.csv"' in response["Content-Disposition"]
    lines = csv_lines(response)
    assert lines[0] == AUTHORIZATION_CSV_HEADER
    assert len(lines) == 2
    row = dict(zip(lines[0], lines[1], strict=True))
    a = grants["to_bank"]
    assert row["number"] == a.number
    assert (row["enterprise_uscc"], row["enterprise_name"]) == (enterprise.uscc, enterprise.name)
    assert (row["grantee_bank"], row["scope"], row["purpose"]) == (
        "东莞示范银行",
        "portrait",
        "pre_loan",
    )
    assert (row["state"], row["granted_by"], row["digest"]) == (
        "active",
        "owner@example.com",
        a.digest,
    )


def test_list_is_refused_to_people_without_a_role(login: Any, plain_user: User) -> None:
    assert login(plain_user).get(LIST).status_code == 403


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------
def form_data(bank: Any, **overrides: str) -> dict[str, str]:
    data = {
        "grantee_bank": str(bank.pk),
        "scope": "portrait",
        "purpose": "pre_loan",
        "valid_from": "",
        "valid_until": "",
        "password": PASSWORD,
        "otp_code": "",
    }
    data.update(overrides)
    return data


def test_create_with_the_right_password(
    login: Any, enterprise_owner: User, enterprise: Any, bank: Any
) -> None:
    until = timezone.localdate() + timedelta(days=90)
    response = login(enterprise_owner).post(
        NEW, form_data(bank, valid_until=until.isoformat()), follow=True
    )
    a = Authorization.objects.get()
    assert response.redirect_chain == [(detail(a), 302)]
    assert (a.enterprise, a.grantee_bank, a.scope, a.purpose, a.granted_by) == (
        enterprise,
        bank,
        "portrait",
        "pre_loan",
        enterprise_owner,
    )
    assert timezone.localtime(a.valid_until).date() == until
    assert any(a.number in m for m in flash(response))


def test_admin_may_grant_to_all_banks_for_matching(
    login: Any, enterprise_admin: User, bank: Any
) -> None:
    response = login(enterprise_admin).post(
        NEW, form_data(bank, grantee_bank="all", purpose="matching")
    )
    a = Authorization.objects.get()
    assert response.status_code == 302
    assert (a.grantee_bank, a.purpose) == (None, "matching")


def test_wrong_password_keeps_the_input_and_creates_nothing(
    login: Any, enterprise_owner: User, bank: Any
) -> None:
    response = login(enterprise_owner).post(
        NEW, form_data(bank, scope="records", purpose="post_loan", password="wrong-password")
    )
    assert response.status_code == 200
    page = html(response)
    assert "请重新输入登录密码（或动态验证码）以确认本次授权。" in page
    assert response.context["form"].errors["password"] == ["密码或验证码不正确"]
    assert f'<option value="{bank.pk}" selected>' in page
    assert '<option value="post_loan" selected>' in page
    assert re.search(r'value="records" checked', page)
    assert "wrong-password" not in page
    assert not Authorization.objects.exists()
    assert not AuthorizationEvent.objects.exists()


def test_a_password_or_code_is_required(login: Any, enterprise_owner: User, bank: Any) -> None:
    response = login(enterprise_owner).post(NEW, form_data(bank, password=""))
    assert response.context["form"].errors["password"] == ["请输入登录密码，或填写动态验证码"]
    assert not Authorization.objects.exists()


def test_service_field_errors_land_on_their_fields(
    login: Any, enterprise_owner: User, bank: Any
) -> None:
    response = login(enterprise_owner).post(NEW, form_data(bank, grantee_bank="all"))
    form = response.context["form"]
    assert form.errors["grantee_bank"] == ["请选择银行，或将用途改为融资对接"]
    assert "向平台全部银行授权只能用于「融资对接」" in form.non_field_errors()[0]
    assert not Authorization.objects.exists()


def test_too_long_validity_is_refused(login: Any, enterprise_owner: User, bank: Any) -> None:
    until = timezone.localdate() + timedelta(days=365 * 4)
    response = login(enterprise_owner).post(NEW, form_data(bank, valid_until=until.isoformat()))
    assert response.context["form"].errors["valid_until"] == ["最长 36 个月"]
    assert not Authorization.objects.exists()


@pytest.mark.parametrize("role", ["enterprise_member", "bank_admin", "credit_office"])
def test_only_owner_or_admin_may_grant(role: str, bank: Any, request: Any, login: Any) -> None:
    client = login(request.getfixturevalue(role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(bank)).status_code == 403
    assert not Authorization.objects.exists()


def test_form_is_prefilled_from_the_refusal_link(
    login: Any, enterprise_owner: User, bank: Any
) -> None:
    response = login(enterprise_owner).get(NEW + f"?bank={bank.pk}&scope=records&purpose=pre_loan")
    page = html(response)
    assert f'<option value="{bank.pk}" selected>' in page
    assert '<option value="pre_loan" selected>' in page
    assert re.search(r'value="records" checked', page)
    assert "完整信用画像及原始信用记录和相关文书" in page  # the scope's description
    assert "动态验证码（已启用双因素认证时可代替密码）" in page
    assert "平台全部银行（仅融资对接）" in page


# ---------------------------------------------------------------------------------------------
# Detail, letter, revoke, renew
# ---------------------------------------------------------------------------------------------
def test_detail_shows_terms_digest_history_and_reads(
    grants: dict[str, Authorization],
    login: Any,
    enterprise_owner: User,
    bank: Any,
    bank_officer: User,
) -> None:
    a = grants["to_bank"]
    AccessLog.objects.create(
        user=bank_officer,
        role="bank_officer",
        bank=bank,
        enterprise=a.enterprise,
        scope="portrait",
        purpose="pre_loan",
        authorization=a,
        path="/x",
        client_ip="10.9.9.9",
    )
    response = login(enterprise_owner).get(detail(a))
    page = html(response)
    assert a.digest in page and len(a.digest) == 64
    assert "授权历史" in page and "授权" in page
    assert [e.kind for e in response.context["events"]] == ["grant"]
    assert enterprise_owner.get_full_name() in page
    assert f"/enterprises/authorizations/{a.pk}/letter.pdf" in page
    assert f"/enterprises/authorizations/{a.pk}/revoke/" in page
    assert f"/enterprises/authorizations/{a.pk}/renew/" in page
    assert [r.client_ip for r in response.context["reads"]] == ["10.9.9.9"]
    assert bank_officer.get_full_name() in page


def test_detail_for_others_has_no_buttons(
    grants: dict[str, Authorization], login: Any, bank_admin: User, enterprise_member: User
) -> None:
    a = grants["to_bank"]
    for user in (bank_admin, enterprise_member):
        page = html(login(user).get(detail(a)))
        assert a.digest in page
        assert "/revoke/" not in page and "/renew/" not in page


@pytest.mark.parametrize("role", ["other_owner", "other_bank_admin", "plain_user"])
def test_detail_and_letter_404_outside_the_tenant(
    role: str, grants: dict[str, Authorization], request: Any, login: Any
) -> None:
    client = login(request.getfixturevalue(role))
    a = grants["to_bank"]
    assert client.get(detail(a)).status_code == 404
    assert client.get(detail(a) + "letter.pdf").status_code == 404


def test_letter_is_a_pdf(grants: dict[str, Authorization], login: Any, bank_officer: User) -> None:
    a = grants["to_bank"]
    response = login(bank_officer).get(detail(a) + "letter.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="{a.number}.pdf"' in response["Content-Disposition"]


def test_revoke_then_revoke_again(
    grants: dict[str, Authorization], login: Any, enterprise_admin: User
) -> None:
    a = grants["to_bank"]
    client = login(enterprise_admin)
    response = client.post(detail(a) + "revoke/", {"reason": "贷款已结清"}, follow=True)
    a.refresh_from_db()
    assert response.redirect_chain == [(detail(a), 302)]
    assert (a.status, a.end_reason, a.ended_by) == ("revoked", "贷款已结清", enterprise_admin)
    assert any("已撤销" in m for m in flash(response))
    assert "已撤销" in html(response) and f"{a.pk}/revoke/" not in html(response)
    assert list(a.events.values_list("kind", "reason")) == [
        ("grant", ""),
        ("revoke", "贷款已结清"),
    ]

    again = client.post(detail(a) + "revoke/", {"reason": ""}, follow=True)
    assert flash(again) == ["授权当前状态为「已撤销」，不能撤销。"]
    assert a.events.count() == 2


def test_revoke_needs_post(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User
) -> None:
    a = grants["to_bank"]
    assert login(enterprise_owner).get(detail(a) + "revoke/").status_code == 405
    a.refresh_from_db()
    assert a.status == "active"


def test_renew_links_the_new_authorization(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User
) -> None:
    old = grants["to_bank"]
    client = login(enterprise_owner)
    form = client.get(detail(old) + "renew/")
    assert form.status_code == 200 and "确认续期" in html(form)
    until = timezone.localdate() + timedelta(days=200)
    response = client.post(
        detail(old) + "renew/",
        {"valid_until": until.isoformat(), "password": PASSWORD, "otp_code": ""},
        follow=True,
    )
    new = Authorization.objects.get(renewed_from=old)
    old.refresh_from_db()
    assert response.redirect_chain == [(detail(new), 302)]
    assert (old.status, old.end_reason) == ("renewed", new.number)
    assert (new.grantee_bank, new.scope, new.purpose) == (old.grantee_bank, "portrait", "pre_loan")
    assert timezone.localtime(new.valid_until).date() == until
    assert old.number in html(response)  # "renewed from" link on the new one
    assert new.number in html(client.get(detail(old)))  # "renewed as" link on the old one
    assert any(new.number in m for m in flash(response))


def test_renew_with_a_wrong_password_changes_nothing(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User
) -> None:
    old = grants["to_bank"]
    response = login(enterprise_owner).post(
        detail(old) + "renew/", {"valid_until": "", "password": "nope", "otp_code": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["密码或验证码不正确"]
    old.refresh_from_db()
    assert old.status == "active"
    assert Authorization.objects.count() == 3


def test_revoked_authorization_cannot_be_renewed(
    grants: dict[str, Authorization], login: Any, enterprise_owner: User
) -> None:
    a = grants["to_bank"]
    services.authorization_revoke(actor=enterprise_owner, authorization_id=a.pk)
    client = login(enterprise_owner)
    assert "不能续期" in html(client.get(detail(a) + "renew/"))
    response = client.post(detail(a) + "renew/", {"password": PASSWORD})
    assert "不能续期" in html(response)
    assert not Authorization.objects.filter(renewed_from=a).exists()


# ---------------------------------------------------------------------------------------------
# Access log
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def reads(
    grants: dict[str, Authorization],
    enterprise: Any,
    other_enterprise: Any,
    bank: Any,
    other_bank: Any,
    bank_admin: User,
    bank_officer: User,
    credit_office: User,
) -> dict[str, AccessLog]:
    """Reads told apart by their client address."""
    other_officer = UserFactory.create(email="other.officer@example.com", full_name="王五")
    make_bank_member(other_officer, other_bank, BankRole.OFFICER)
    now = timezone.now()

    def read(ip: str, user: User, target: Any, **extra: Any) -> AccessLog:
        extra.setdefault("scope", "portrait")
        return AccessLog.objects.create(
            user=user, enterprise=target, path="/p", client_ip=ip, at=extra.pop("at", now), **extra
        )

    return {
        "officer": read(
            "10.0.0.1",
            bank_officer,
            enterprise,
            role="bank_officer",
            bank=bank,
            purpose="pre_loan",
            authorization=grants["to_bank"],
            at=now - timedelta(days=3),
        ),
        "admin": read(
            "10.0.0.2",
            bank_admin,
            enterprise,
            role="bank_admin",
            bank=bank,
            scope="summary",
            purpose="matching",
            authorization=grants["to_all"],
            at=now - timedelta(days=40),
        ),
        "other_bank": read(
            "10.0.0.3",
            other_officer,
            other_enterprise,
            role="bank_officer",
            bank=other_bank,
            purpose="pre_loan",
            authorization=grants["elsewhere"],
        ),
        "office": read(
            "10.0.0.4",
            credit_office,
            other_enterprise,
            role="credit_office",
            reason="处理异议申请 YY-2026-0012",
        ),
    }


def shown_reads(response: Any, reads: dict[str, AccessLog]) -> set[str]:
    page = html(response)
    return {name for name, log in reads.items() if str(log.client_ip) in page}


@pytest.mark.parametrize(
    ("role", "title", "expected"),
    [
        ("enterprise_owner", "谁查询了我的数据", {"officer", "admin"}),
        ("enterprise_member", "谁查询了我的数据", {"officer", "admin"}),
        ("bank_admin", "本行查询记录", {"officer", "admin"}),
        ("bank_officer", "本行查询记录", {"officer"}),
        ("other_owner", "谁查询了我的数据", {"other_bank", "office"}),
        ("credit_office", "数据访问记录", {"officer", "admin", "other_bank", "office"}),
    ],
)
def test_access_log_per_role(
    role: str,
    title: str,
    expected: set[str],
    reads: dict[str, AccessLog],
    request: Any,
    login: Any,
) -> None:
    client = login(request.getfixturevalue(role))
    response = client.get(ACCESS_LOG)
    assert response.status_code == 200
    assert title in html(response)
    assert shown_reads(response, reads) == expected
    exported = csv_lines(client.get(ACCESS_LOG + "?export=csv"))
    assert exported[0] == ACCESS_LOG_CSV_HEADER
    assert {row[ACCESS_LOG_CSV_HEADER.index("client_ip")] for row in exported[1:]} == {
        str(reads[name].client_ip) for name in expected
    }


def test_access_log_columns_for_the_enterprise(
    reads: dict[str, AccessLog], login: Any, enterprise_owner: User, bank_officer: User
) -> None:
    response = login(enterprise_owner).get(ACCESS_LOG)
    page = html(response)
    assert bank_officer.get_full_name() in page and "东莞示范银行" in page
    assert "信用画像" in page and "贷前调查" in page
    officer_read = reads["officer"]
    assert officer_read.authorization is not None
    assert f'href="{detail(officer_read.authorization)}"' in page
    assert "enterprise" not in response.context["form"].fields
    assert not response.context["show_enterprise"]


def test_office_sees_reasons_and_filters(
    reads: dict[str, AccessLog], login: Any, credit_office: User, other_bank: Any
) -> None:
    client = login(credit_office)
    page = html(client.get(ACCESS_LOG))
    assert "处理异议申请 YY-2026-0012" in page and "信用办" in page
    assert "东莞市另一家有限公司" in page  # the enterprise column
    by_bank = client.get(ACCESS_LOG + f"?bank={other_bank.pk}")
    assert shown_reads(by_bank, reads) == {"other_bank"}
    csv = csv_lines(client.get(ACCESS_LOG + "?export=csv&scope=summary"))
    assert [row[ACCESS_LOG_CSV_HEADER.index("client_ip")] for row in csv[1:]] == ["10.0.0.2"]
    today = timezone.localdate()
    response = client.get(ACCESS_LOG + "?export=csv")
    assert f'filename="access-log-{today:%Y%m%d}.csv"' in response["Content-Disposition"]


def test_officer_link_only_to_visible_authorizations(
    reads: dict[str, AccessLog], login: Any, bank_officer: User
) -> None:
    page = html(login(bank_officer).get(ACCESS_LOG))
    officer_read = reads["officer"]
    assert officer_read.authorization is not None
    assert f'href="{detail(officer_read.authorization)}"' in page


def test_access_log_chart_counts_the_last_30_days(
    reads: dict[str, AccessLog], login: Any, bank_admin: User
) -> None:
    response = login(bank_admin).get(ACCESS_LOG)
    chart = response.context["chart"]
    today = timezone.localdate()
    assert len(chart["days"]) == len(chart["counts"]) == 30
    assert chart["days"][-1] == f"{today:%m-%d}"
    # the officer's read 3 days ago counts; the admin's read 40 days ago is outside the window
    assert chart["counts"][-4] == 1 and sum(chart["counts"]) == 1
    match = re.search(
        r'<script id="access-chart-data" type="application/json">(.*?)</script>', html(response)
    )
    assert match is not None and json.loads(match.group(1)) == chart


def test_access_log_is_refused_without_a_role(login: Any, plain_user: User) -> None:
    assert login(plain_user).get(ACCESS_LOG).status_code == 403


# ---------------------------------------------------------------------------------------------
# Ledger
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def sealed(grants: dict[str, Authorization]) -> LedgerAnchor:
    ledger.seal()
    return ledger.anchor_day(timezone.localdate())


def test_ledger_page_is_public(sealed: LedgerAnchor) -> None:
    response = Client().get("/ledger/")
    assert response.status_code == 200
    page = html(response)
    assert sealed.hash in page and sealed.mac in page
    assert f"{sealed.day:%Y-%m-%d}" in page
    head = response.context["head"]
    assert (head.seq, head.hash) == (3, sealed.hash)  # three grants chained
    assert "立即校验" not in page and "最近的完整性校验" not in page


def test_office_sees_checks_and_verifies_now(
    sealed: LedgerAnchor, login: Any, credit_office: User
) -> None:
    client = login(credit_office)
    assert "立即校验" in html(client.get("/ledger/"))
    response = client.post("/ledger/verify/", follow=True)
    assert response.redirect_chain == [("/ledger/", 302)]
    assert flash(response) == ["账本完整：3 条记录全部校验通过。"]
    assert LedgerCheck.objects.get().ok is True
    assert "完整" in html(response) and len(response.context["checks"]) == 1

    LedgerEntry.objects.filter(seq=2).update(body='{"seq":2,"tampered":true}')
    response = client.post("/ledger/verify/", follow=True)
    assert flash(response) == ["账本被篡改：第 2 条：第 2 条内容与哈希不符（被修改）"]
    assert LedgerCheck.objects.filter(ok=False, first_bad_seq=2).count() == 1


def test_superuser_sees_checks_but_cannot_verify(
    sealed: LedgerAnchor, login: Any, superuser: User
) -> None:
    client = login(superuser)
    page = html(client.get("/ledger/"))
    assert "最近的完整性校验" in page and "立即校验" not in page
    assert client.post("/ledger/verify/").status_code == 403
    assert not LedgerCheck.objects.exists()


@pytest.mark.parametrize("role", ["bank_admin", "enterprise_owner"])
def test_verify_now_is_for_the_credit_office_only(role: str, request: Any, login: Any) -> None:
    assert login(request.getfixturevalue(role)).post("/ledger/verify/").status_code == 403
    assert Client().post("/ledger/verify/").status_code == 302
    assert not LedgerCheck.objects.exists()
