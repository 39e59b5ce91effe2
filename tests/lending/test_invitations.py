"""Invitations to apply: only opted-in enterprises that qualify can be invited, by the opaque
reference a bank was shown; the enterprise accepts (and applies) or declines; every answer and
refusal is what the user needs to hear."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from banks.models import LoanProduct
from enterprises.authorization import authorization_grant, authorization_revoke
from enterprises.models import Enterprise
from lending import invitations, services
from lending.invitations import enterprise_ref
from lending.models import MatchInvitation
from tests.factories import PASSWORD
from tests.lending.test_demands import serious_record
from xinyidai.core.errors import Conflict, DomainError, NotFound
from xinyidai.core.models import Notification

pytestmark = pytest.mark.django_db


def opt_in(owner: Any, enterprise: Enterprise, bank_id: int | None = None) -> Any:
    return authorization_grant(
        actor=owner,
        enterprise=enterprise,
        grantee_bank_id=bank_id,
        scope="summary",
        purpose="matching",
        password=PASSWORD,
    )


def invite(officer: Any, product: LoanProduct, enterprise: Enterprise, **extra: Any) -> Any:
    return invitations.invite(
        actor=officer,
        product_id=product.pk,
        ref=enterprise_ref(enterprise.pk),
        message=extra.pop("message", "欢迎申请"),
        reasons=extra.pop("reasons", ["信用等级 A"]),
    )


def test_only_enterprises_that_opted_in_can_be_invited(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    with pytest.raises(NotFound) as refused:
        invite(bank_officer, product, enterprise)
    assert refused.value.code == "enterprise_not_recommended"
    # opted in to the other bank only: this bank still cannot invite
    to_other = opt_in(enterprise_owner, enterprise, other_product.bank_id)
    with pytest.raises(NotFound):
        invite(bank_officer, product, enterprise)
    assert invite(other_bank_officer, other_product, enterprise).status == "pending"
    authorization_revoke(actor=enterprise_owner, authorization_id=to_other.pk)
    # to all banks: any bank may invite
    opt_in(enterprise_owner, enterprise)
    invitation = invite(bank_officer, product, enterprise)
    assert (invitation.bank_id, invitation.enterprise_id, invitation.status) == (
        product.bank_id,
        enterprise.pk,
        "pending",
    )
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)
    titles = set(
        Notification.objects.filter(user=enterprise_owner, kind="match.invited").values_list(
            "title", "body"
        )
    )
    assert titles == {
        (f"{product.bank.name}邀请贵企业申请「{product.name}」", "欢迎申请"),
        (f"{other_product.bank.name}邀请贵企业申请「{other_product.name}」", "欢迎申请"),
    }


def test_a_second_pending_invitation_is_refused_and_a_bad_ref_named(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any, bank_officer: Any
) -> None:
    opt_in(enterprise_owner, enterprise)
    invite(bank_officer, product, enterprise)
    with pytest.raises(Conflict) as twice:
        invite(bank_officer, product, enterprise)
    assert twice.value.code == "already_invited"
    with pytest.raises(DomainError) as bad:
        invitations.invite(actor=bank_officer, product_id=product.pk, ref="forged:ref")
    assert (bad.value.code, bad.value.detail) == ("invalid_ref", {"ref": ["推荐对象无效"]})


def test_an_ineligible_or_unlisted_case_is_refused(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    opt_in(enterprise_owner, enterprise)
    with pytest.raises(NotFound):  # another bank's product
        invite(other_bank_officer, product, enterprise)
    serious_record(enterprise)
    with pytest.raises(DomainError) as refused:
        invite(bank_officer, product, enterprise)
    assert refused.value.code == "not_eligible"
    assert refused.value.message.startswith("该企业不满足产品准入条件：满足 0/1 项")


def test_accepting_then_applying_links_the_application(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any, bank_officer: Any
) -> None:
    opt_in(enterprise_owner, enterprise)
    invitation = invite(bank_officer, product, enterprise)
    accepted = invitations.respond(
        actor=enterprise_owner, invitation_id=invitation.pk, move="accept"
    )
    assert (accepted.status, accepted.responded_by_id) == ("accepted", enterprise_owner.pk)
    assert Notification.objects.filter(user=bank_officer, kind="match.accepted").count() == 1
    with pytest.raises(Conflict) as again:
        invitations.respond(actor=enterprise_owner, invitation_id=invitation.pk, move="decline")
    assert again.value.detail == {"status": "accepted", "allowed": []}
    submission = services.application_submit(
        actor=enterprise_owner,
        product_id=product.pk,
        amount=Decimal("500000"),
        term_months=12,
        repayment_method="interest_first",
        purpose="采购原材料",
        password=PASSWORD,
    )
    invitation.refresh_from_db()
    assert invitation.application_id == submission.application.pk  # type: ignore[union-attr]


def test_declining_needs_a_reason_and_tells_the_bank(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    enterprise_member: Any,
    bank_officer: Any,
) -> None:
    opt_in(enterprise_owner, enterprise)
    invitation = invite(bank_officer, product, enterprise)
    with pytest.raises(DomainError) as member:
        invitations.respond(actor=enterprise_member, invitation_id=invitation.pk, move="accept")
    assert member.value.code == "not_enterprise_admin"
    with pytest.raises(DomainError) as bare:
        invitations.respond(actor=enterprise_owner, invitation_id=invitation.pk, move="decline")
    assert bare.value.detail == {"reason": ["请填写谢绝原因"]}
    declined = invitations.respond(
        actor=enterprise_owner, invitation_id=invitation.pk, move="decline", reason="暂无需求"
    )
    assert (declined.status, declined.decline_reason) == ("declined", "暂无需求")
    notice = Notification.objects.get(user=bank_officer, kind="match.declined")
    assert notice.body == "暂无需求"
    # declined: the bank may invite again later
    assert invite(bank_officer, product, enterprise).status == "pending"


def test_an_expired_invitation_cannot_be_accepted(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any, bank_officer: Any
) -> None:
    opt_in(enterprise_owner, enterprise)
    invitation = invite(bank_officer, product, enterprise)
    MatchInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as late:
        invitations.respond(actor=enterprise_owner, invitation_id=invitation.pk, move="accept")
    assert late.value.detail == {"status": "expired", "allowed": []}
    assert invitations.expire() == 1
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    # the bank may invite again once it ran out
    assert invite(bank_officer, product, enterprise).status == "pending"


def test_the_api_masks_the_enterprise_for_the_bank_until_it_accepts(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    login: Any,
) -> None:
    opt_in(enterprise_owner, enterprise)
    bank = login(bank_officer)
    made = bank.post(
        f"/api/v1/products/{product.pk}/invitations/",
        {"ref": enterprise_ref(enterprise.pk), "message": "欢迎", "reasons": ["信用等级 A"]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["enterprise"], body["status"], body["reasons"]) == (
        None,
        "pending",
        ["信用等级 A"],
    )
    bad = bank.post(
        f"/api/v1/products/{product.pk}/invitations/",
        {"ref": "x"},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_ref")
    firm = login(enterprise_owner)
    (mine,) = firm.get("/api/v1/invitations/?status=pending").json()["results"]
    assert mine["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name}
    assert mine["allowed_moves"] == ["accept", "decline"]
    answered = firm.post(f"/api/v1/invitations/{mine['id']}/accept/")
    assert answered.status_code == 200
    assert answered.json()["apply_url"] == f"/market/{product.pk}/apply/"
    (sent,) = bank.get("/api/v1/invitations/").json()["results"]
    assert sent["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name}
    assert firm.get("/api/v1/invitations/?status=nope").status_code == 400


def test_the_enterprise_answers_on_its_page(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    login: Any,
) -> None:
    opt_in(enterprise_owner, enterprise)
    first = invite(bank_officer, product, enterprise)
    firm: Client = login(enterprise_owner)
    page = firm.get("/loans/invitations/").content.decode()
    assert product.name in page and "接受并申请" in page and "欢迎申请" in page
    refused = firm.post(f"/loans/invitations/{first.pk}/decline/", {"reason": ""})
    assert refused.status_code == 400 and "请填写谢绝原因" in refused.content.decode()
    accepted = firm.post(f"/loans/invitations/{first.pk}/accept/")
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/market/{product.pk}/apply/"
    bank_page = login(bank_officer).get("/loans/invitations/").content.decode()
    assert enterprise.name in bank_page and "已接受" in bank_page
