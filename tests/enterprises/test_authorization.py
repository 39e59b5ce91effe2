"""Granting, renewing, revoking and expiring authorisations; the API; the notices; the ledger
entries they leave."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from enterprises import authorization as services
from enterprises.models import (
    AccessLog,
    Authorization,
    AuthorizationEvent,
    BankFirstRead,
    Enterprise,
)
from enterprises.notices import send_expiry_notices
from enterprises.scoring import regrade
from tests.factories import PASSWORD
from xinyidai.core import ledger
from xinyidai.core.errors import Conflict, DomainError
from xinyidai.core.models import LedgerEntry

pytestmark = pytest.mark.django_db


def grant(owner: Any, enterprise: Enterprise, bank: Any, **extra: Any) -> Authorization:
    fields: dict[str, Any] = {
        "actor": owner,
        "enterprise": enterprise,
        "grantee_bank_id": bank.pk if bank else None,
        "scope": "portrait",
        "purpose": "pre_loan",
        "password": PASSWORD,
    }
    return services.authorization_grant(**(fields | extra))


def local(at: datetime) -> datetime:
    return timezone.localtime(at)


# ---------------------------------------------------------------------------------------------
# Granting
# ---------------------------------------------------------------------------------------------
def test_grant_defaults_to_twelve_months_and_records_everything(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    assert a.number.startswith("SQ" + timezone.localdate().strftime("%Y%m%d") + "-")
    assert len(a.number) == 19
    assert (a.grantee_bank_id, a.scope, a.purpose, a.status) == (
        bank.pk,
        "portrait",
        "pre_loan",
        "active",
    )
    start, end = local(a.valid_from), local(a.valid_until)
    assert (end.year, end.month, end.day) == (start.year + 1, start.month, start.day)
    assert a.state() == "active"
    assert a.digest == services.terms_digest(a)
    assert len(a.digest) == 64
    event = a.events.get()
    assert (event.kind, event.old_status, event.new_status, event.actor_id) == (
        "grant",
        "",
        "active",
        enterprise_owner.pk,
    )


def test_valid_until_date_means_through_that_day_and_36_months_is_the_limit(
    enterprise: Enterprise, enterprise_admin: Any, bank: Any
) -> None:
    today = timezone.localdate()
    a = grant(enterprise_admin, enterprise, bank, valid_until=today + timedelta(days=30))
    end = local(a.valid_until)
    assert (end.date(), end.hour, end.minute) == (today + timedelta(days=30), 23, 59)
    limit = services.add_months(timezone.localtime(), 36).date()
    assert grant(enterprise_admin, enterprise, bank, valid_until=limit).valid_until
    with pytest.raises(DomainError) as too_long:
        grant(enterprise_admin, enterprise, bank, valid_until=limit + timedelta(days=1))
    assert too_long.value.code == "validity_too_long"
    assert "36" in too_long.value.message
    with pytest.raises(DomainError) as backwards:
        grant(enterprise_admin, enterprise, bank, valid_until=today - timedelta(days=1))
    assert backwards.value.code == "valid_until_before_start"
    with pytest.raises(DomainError) as past:
        grant(enterprise_admin, enterprise, bank, valid_from=timezone.now() - timedelta(days=1))
    assert past.value.code == "valid_from_past"


def test_a_future_start_is_pending_until_then(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    start = timezone.now() + timedelta(days=3)
    a = grant(enterprise_owner, enterprise, bank, valid_from=start)
    assert a.state() == "pending"
    assert a.state(start + timedelta(seconds=1)) == "active"
    assert local(a.valid_until).date() == services.add_months(local(start), 12).date()


def test_all_banks_only_for_matching(enterprise: Enterprise, enterprise_owner: Any) -> None:
    with pytest.raises(DomainError) as refused:
        grant(enterprise_owner, enterprise, None, purpose="pre_loan")
    assert refused.value.code == "all_banks_only_for_matching"
    a = grant(enterprise_owner, enterprise, None, purpose="matching", scope="summary")
    assert a.grantee_bank is None and a.grantee_name == "平台全部银行（融资对接）"


def test_only_owner_or_admin_grants_and_only_with_the_password(
    enterprise: Enterprise,
    enterprise_member: Any,
    enterprise_owner: Any,
    other_enterprise: Enterprise,
    bank: Any,
) -> None:
    with pytest.raises(DomainError) as member:
        grant(enterprise_member, enterprise, bank)
    assert member.value.code == "not_enterprise_admin"
    with pytest.raises(DomainError) as elsewhere:
        grant(enterprise_owner, other_enterprise, bank)
    assert elsewhere.value.code == "not_enterprise_admin"
    with pytest.raises(DomainError) as wrong:
        grant(enterprise_owner, enterprise, bank, password="not-my-password")
    assert (wrong.value.code, wrong.value.status) == ("reauth_failed", 403)
    with pytest.raises(DomainError):
        grant(enterprise_owner, enterprise, bank, password="")
    assert Authorization.objects.count() == 0


def test_a_totp_code_can_stand_in_for_the_password(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any, login: Any
) -> None:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    from tests.conftest import activate_totp

    secret = activate_totp(enterprise_owner)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    a = grant(enterprise_owner, enterprise, bank, password="", otp_code=code)
    assert a.pk


def test_repeated_wrong_passwords_lock_confirmation(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    for _ in range(10):
        with pytest.raises(DomainError):
            grant(enterprise_owner, enterprise, bank, password="wrong")
    with pytest.raises(DomainError) as locked:
        grant(enterprise_owner, enterprise, bank)  # even the right one, for an hour
    assert (locked.value.code, locked.value.status) == ("reauth_locked", 429)


# ---------------------------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------------------------
def test_revoke_is_immediate_and_final(
    enterprise: Enterprise, enterprise_owner: Any, enterprise_member: Any, bank: Any
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    with pytest.raises(DomainError):
        services.authorization_revoke(actor=enterprise_member, authorization_id=a.pk)
    revoked = services.authorization_revoke(
        actor=enterprise_owner, authorization_id=a.pk, reason="贷款已结清"
    )
    assert (revoked.status, revoked.state(), revoked.end_reason) == (
        "revoked",
        "revoked",
        "贷款已结清",
    )
    assert revoked.ended_by_id == enterprise_owner.pk
    with pytest.raises(Conflict) as again:
        services.authorization_revoke(actor=enterprise_owner, authorization_id=a.pk)
    assert again.value.detail == {"status": "revoked", "allowed": []}
    with pytest.raises(Conflict):
        services.authorization_renew(
            actor=enterprise_owner, authorization_id=a.pk, password=PASSWORD
        )
    assert [e.kind for e in a.events.order_by("id")] == ["grant", "revoke"]


def test_renew_makes_a_new_authorisation_and_ends_the_old(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    old = grant(enterprise_owner, enterprise, bank, scope="records", purpose="post_loan")
    until = timezone.localdate() + timedelta(days=400)
    new = services.authorization_renew(
        actor=enterprise_owner, authorization_id=old.pk, valid_until=until, password=PASSWORD
    )
    old.refresh_from_db()
    assert old.status == "renewed" and old.end_reason == new.number
    assert (new.renewed_from_id, new.scope, new.purpose, new.grantee_bank_id) == (
        old.pk,
        "records",
        "post_loan",
        bank.pk,
    )
    assert local(new.valid_until).date() == until
    assert new.digest != old.digest
    with pytest.raises(Conflict):
        services.authorization_renew(
            actor=enterprise_owner, authorization_id=old.pk, password=PASSWORD
        )
    with pytest.raises(DomainError):
        services.authorization_renew(
            actor=enterprise_owner, authorization_id=new.pk, password="wrong"
        )


def test_expiry_job_marks_once_and_expired_ones_can_be_renewed(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    later = a.valid_until + timedelta(seconds=1)
    assert a.state(later) == "expired"  # reads stop at the end instant, job or not
    assert services.authorizations_expire(now=later) == 1
    assert services.authorizations_expire(now=later) == 0
    a.refresh_from_db()
    assert (a.status, a.ended_at) == ("expired", a.valid_until)
    event = a.events.get(kind="expire")
    assert (event.actor_id, event.old_status, event.new_status) == (None, "active", "expired")
    renewed = services.authorization_renew(
        actor=enterprise_owner, authorization_id=a.pk, password=PASSWORD
    )
    assert renewed.renewed_from_id == a.pk


def test_every_change_goes_into_the_ledger(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    services.authorization_revoke(actor=enterprise_owner, authorization_id=a.pk)
    assert ledger.seal() == 2
    kinds = list(LedgerEntry.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["authorization.grant", "authorization.revoke"]
    body = json.loads(LedgerEntry.objects.get(seq=1).body)
    assert body["data"]["authorization"] == a.number
    assert body["data"]["digest"] == a.digest
    assert body["data"]["enterprise"] == enterprise.uscc
    assert body["data"]["grantee_bank"] == bank.fi_code
    assert not AuthorizationEvent.objects.filter(ledger_seq__isnull=True).exists()
    assert ledger.verify().ok


def test_reads_are_sealed_after_the_commit(
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank: Any,
    bank_officer: Any,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    grant(enterprise_owner, enterprise, bank)
    client = login(bank_officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/api/v1/enterprises/{enterprise.uscc}/graph/").status_code == 200
    log = AccessLog.objects.get()
    assert log.ledger_seq is not None
    entry = LedgerEntry.objects.get(seq=log.ledger_seq)
    assert entry.kind == "read" and entry.ref == f"enterprises.accesslog:{log.pk}"
    assert json.loads(entry.body)["data"]["path"] == f"/api/v1/enterprises/{enterprise.uscc}/graph/"


# ---------------------------------------------------------------------------------------------
# Notices
# ---------------------------------------------------------------------------------------------
def test_the_enterprise_hears_of_a_banks_first_read_once(
    enterprise: Enterprise,
    enterprise_owner: Any,
    enterprise_member: Any,
    bank: Any,
    bank_officer: Any,
    bank_admin: Any,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    grant(enterprise_owner, enterprise, bank)
    url = f"/api/v1/enterprises/{enterprise.uscc}/summary/"
    with django_capture_on_commit_callbacks(execute=True):
        assert login(bank_officer).get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert login(bank_admin).get(url).status_code == 200  # same bank: no second notice
    notices = [m for m in mail.outbox if "首次查询" in m.subject]
    assert len(notices) == 1
    assert notices[0].to == [enterprise_owner.email]  # owners and admins, not plain members
    assert bank.name in notices[0].subject and enterprise.name in notices[0].body
    assert "/enterprises/access-log/" in notices[0].body


def test_expiry_notice_thirty_days_before_once(
    enterprise: Enterprise, enterprise_owner: Any, enterprise_admin: Any, bank: Any
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    assert send_expiry_notices(now=a.valid_until - timedelta(days=31)) == 0
    with_capture = a.valid_until - timedelta(days=30)
    assert send_expiry_notices(now=with_capture) == 1
    assert send_expiry_notices(now=with_capture + timedelta(days=1)) == 0
    a.refresh_from_db()
    assert a.expiry_notice_sent_at == with_capture


def test_expiry_notice_mail_content(
    enterprise: Enterprise,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    with django_capture_on_commit_callbacks(execute=True):
        send_expiry_notices(now=a.valid_until - timedelta(days=10))
    (message,) = [m for m in mail.outbox if "即将到期" in m.subject]
    assert sorted(message.to) == sorted([enterprise_owner.email, enterprise_admin.email])
    assert a.number in message.subject and bank.name in message.body
    assert "10 天" in message.body
    assert f"/enterprises/authorizations/{a.pk}/" in message.body


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------
def test_api_grant_list_revoke_renew(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any, bank_officer: Any, login: Any
) -> None:
    client = login(enterprise_owner)
    until = (timezone.localdate() + timedelta(days=90)).isoformat()
    created = client.post(
        "/api/v1/authorizations/",
        {
            "grantee_bank": bank.pk,
            "scope": "records",
            "purpose": "loan_application",
            "valid_until": until,
            "password": PASSWORD,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["grantee_bank"] == {"id": bank.pk, "name": bank.name, "fi_code": bank.fi_code}
    assert (body["scope"], body["purpose"], body["state"]) == (
        "records",
        "loan_application",
        "active",
    )
    assert body["valid_until"].startswith(until + "T23:59:59")
    assert body["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name}
    assert body["allowed_moves"] == ["revoke", "renew", "expire"]
    assert body["letter_url"] == f"/api/v1/authorizations/{body['id']}/letter/"
    listed = client.get("/api/v1/authorizations/?state=active&scope=records").json()
    assert [r["number"] for r in listed["results"]] == [body["number"]]
    assert client.get("/api/v1/authorizations/?state=revoked").json()["count"] == 0
    # the bank sees it too
    bank_view = login(bank_officer).get("/api/v1/authorizations/").json()
    assert [r["number"] for r in bank_view["results"]] == [body["number"]]
    renewed = client.post(
        f"/api/v1/authorizations/{body['id']}/renew/",
        {"password": PASSWORD},
        content_type="application/json",
    )
    assert renewed.status_code == 201
    assert renewed.json()["renewed_from"] == body["number"]
    revoked = client.post(
        f"/api/v1/authorizations/{renewed.json()['id']}/revoke/",
        {"reason": "不再需要"},
        content_type="application/json",
    )
    assert (revoked.status_code, revoked.json()["state"]) == (200, "revoked")
    conflict = client.post(
        f"/api/v1/authorizations/{renewed.json()['id']}/revoke/", content_type="application/json"
    )
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == {"status": "revoked", "allowed": []}


def test_api_errors_are_clear(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any, bank_officer: Any, login: Any
) -> None:
    client = login(enterprise_owner)
    wrong = client.post(
        "/api/v1/authorizations/",
        {"grantee_bank": bank.pk, "scope": "portrait", "purpose": "pre_loan", "password": "x"},
        content_type="application/json",
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "reauth_failed")
    bad_date = client.post(
        "/api/v1/authorizations/",
        {"scope": "portrait", "purpose": "matching", "valid_until": "2027/01/01"},
        content_type="application/json",
    )
    assert bad_date.status_code == 400
    assert "valid_until" in bad_date.json()["detail"]
    all_banks = client.post(
        "/api/v1/authorizations/",
        {"grantee_bank": None, "scope": "summary", "purpose": "pre_loan", "password": PASSWORD},
        content_type="application/json",
    )
    assert all_banks.json()["code"] == "all_banks_only_for_matching"
    no_bank = client.post(
        "/api/v1/authorizations/",
        {"grantee_bank": 999999, "scope": "summary", "purpose": "pre_loan", "password": PASSWORD},
        content_type="application/json",
    )
    assert no_bank.json()["code"] == "bank_not_found"
    officer = login(bank_officer).post(
        "/api/v1/authorizations/",
        {"grantee_bank": bank.pk, "scope": "summary", "purpose": "pre_loan", "password": PASSWORD},
        content_type="application/json",
    )
    assert officer.status_code == 403
    assert Authorization.objects.count() == 0


def test_api_letter_is_a_pdf_with_the_terms(
    enterprise: Enterprise, enterprise_owner: Any, bank: Any, login: Any
) -> None:
    from xinyidai.core.pdf import pdf_text

    a = grant(enterprise_owner, enterprise, bank)
    response = login(enterprise_owner).get(f"/api/v1/authorizations/{a.pk}/letter/")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content).replace(" ", "")
    assert a.number in text and enterprise.uscc in text and bank.name in text
    assert a.digest[:8] in text and "贷前调查" in text and "信用画像" in text


def test_access_log_api_per_tenant(
    enterprise: Enterprise,
    other_enterprise: Enterprise,
    enterprise_owner: Any,
    bank: Any,
    bank_officer: Any,
    bank_admin: Any,
    credit_office: Any,
    login: Any,
) -> None:
    regrade([enterprise.pk])
    grant(enterprise_owner, enterprise, bank)
    login(bank_officer).get(f"/api/v1/enterprises/{enterprise.uscc}/summary/?purpose=pre_loan")
    login(bank_admin).get(f"/api/v1/enterprises/{enterprise.uscc}/portrait/")
    login(credit_office).get(f"/api/v1/enterprises/{other_enterprise.uscc}/summary/?reason=抽查")

    def seen(user: Any, query: str = "") -> list[tuple[str, str]]:
        body = login(user).get(f"/api/v1/authorizations/access-log/{query}").json()
        return [(r["user"]["email"], r["scope"]) for r in body["results"]]

    assert seen(enterprise_owner) == [
        (bank_admin.email, "portrait"),
        (bank_officer.email, "summary"),
    ]
    assert seen(bank_admin) == [(bank_admin.email, "portrait"), (bank_officer.email, "summary")]
    assert seen(bank_officer) == [(bank_officer.email, "summary")]
    assert len(seen(credit_office)) == 3
    assert seen(credit_office, f"?enterprise={other_enterprise.uscc}") == [
        (credit_office.email, "summary")
    ]
    assert seen(credit_office, "?scope=portrait") == [(bank_admin.email, "portrait")]
    first = login(enterprise_owner).get("/api/v1/authorizations/access-log/").json()["results"][-1]
    assert first["purpose"] == "pre_loan" and first["bank"] == {"id": bank.pk, "name": bank.name}
    assert first["client_ip"] == "127.0.0.1"


def test_ledger_anchors_are_public(login: Any, credit_office: Any) -> None:
    from django.test import Client

    ledger.anchor_day(timezone.localdate())
    body = Client().get("/api/v1/ledger/anchors/").json()
    assert body["results"][0]["seq"] == 0
    status = login(credit_office).get("/api/v1/ledger/").json()
    assert status["head"] == {"seq": 0, "hash": "0" * 64}


def test_first_read_is_remembered_only_after_the_commit(
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank: Any,
    bank_officer: Any,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from enterprises import access

    grant(enterprise_owner, enterprise, bank)
    url = f"/api/v1/enterprises/{enterprise.uscc}/summary/"
    client = login(bank_officer)
    client.get(url)  # committed? not in this test's transaction: nothing remembered
    assert (bank.pk, enterprise.pk) not in access._FIRST_READS_KNOWN
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    assert (bank.pk, enterprise.pk) in access._FIRST_READS_KNOWN
    assert BankFirstRead.objects.filter(bank=bank, enterprise=enterprise).count() == 1
