from __future__ import annotations

import random
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from banks import services
from banks.models import Bank, BankInvitation, BankMembership
from enterprises import uscc
from enterprises.services import enterprise_invitation_create
from tests.factories import UserFactory
from xinyidai.core.errors import Conflict, DomainError, PermissionDenied

pytestmark = pytest.mark.django_db
BASE = "http://testserver/banks/invitations/"


def test_credit_office_registers_bank_and_invites_admin_atomically(
    credit_office: Any, django_capture_on_commit_callbacks: Any
) -> None:
    code = uscc.generate(random.Random(11))
    with django_capture_on_commit_callbacks(execute=True):
        bank = services.bank_create(
            actor=credit_office,
            name="东莞农商示范银行",
            fi_code="b1234567890123",
            uscc_code=code.lower(),
            admin_email="Admin@Bank.cn",
            accept_url_base=BASE,
        )
    assert (bank.fi_code, bank.uscc) == ("B1234567890123", code)
    invitation = BankInvitation.objects.get(bank=bank)
    assert (invitation.email, invitation.role) == ("admin@bank.cn", "admin")
    assert f"{BASE}{invitation.token}/" in mail.outbox[0].body
    # a failed invitation takes the bank with it: nothing half-done
    with pytest.raises(DomainError):
        services.bank_create(
            actor=credit_office,
            name="另一家",
            fi_code="C1234567890123",
            uscc_code=uscc.generate(random.Random(12)),
            admin_email="not-an-email",
            accept_url_base=BASE,
        )
    assert not Bank.objects.filter(name="另一家").exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("fi_code", "123", "invalid_fi_code"),
        ("uscc_code", "91441900", "invalid_uscc"),
        ("name", " ", "required"),
    ],
)
def test_bank_create_rejects_bad_input(
    credit_office: Any, field: str, value: str, code: str
) -> None:
    data = {
        "name": "某银行",
        "fi_code": "B1234567890123",
        "uscc_code": uscc.generate(random.Random(1)),
    }
    data[field] = value
    with pytest.raises(DomainError) as err:
        services.bank_create(actor=credit_office, **data)
    assert err.value.code == code
    assert not Bank.objects.exists()


def test_duplicate_bank_is_conflict(credit_office: Any, bank: Any) -> None:
    with pytest.raises(Conflict):
        services.bank_create(
            actor=credit_office,
            name=bank.name,
            fi_code="B9999999999999",
            uscc_code=uscc.generate(random.Random(2)),
        )


def test_officer_cannot_invite_or_add_branches(bank_officer: Any, bank: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.bank_invitation_create(
            actor=bank_officer, bank=bank, email="x@y.cn", accept_url_base=BASE
        )
    with pytest.raises(PermissionDenied):
        services.branch_create(actor=bank_officer, bank=bank, name="新网点")


def test_admin_of_one_bank_cannot_manage_another(bank_admin: Any, other_bank: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.bank_invitation_create(
            actor=bank_admin, bank=other_bank, email="x@y.cn", accept_url_base=BASE
        )


def test_invitation_accept_creates_officer_with_branch(
    bank_admin: Any, bank: Any, branch: Any
) -> None:
    invitation = services.bank_invitation_create(
        actor=bank_admin,
        bank=bank,
        email="New.Officer@bank.cn",
        branch=branch,
        accept_url_base=BASE,
    )
    invitee = UserFactory.create(email="new.officer@bank.cn")
    with pytest.raises(DomainError) as wrong_user:
        services.bank_invitation_accept(token=invitation.token, user=UserFactory.create())
    assert wrong_user.value.code == "invitation_email_mismatch"
    membership = services.bank_invitation_accept(token=invitation.token, user=invitee)
    assert (membership.bank, membership.branch, membership.role) == (bank, branch, "officer")
    with pytest.raises(Conflict) as used:
        services.bank_invitation_accept(token=invitation.token, user=invitee)
    assert used.value.code == "invitation_used"


def test_expired_invitation_is_refused(bank_admin: Any, bank: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    invitation = services.bank_invitation_create(
        actor=bank_admin, bank=bank, email="late@bank.cn", accept_url_base=BASE
    )
    BankInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as err:
        services.bank_invitation_accept(
            token=invitation.token, user=UserFactory.create(email="late@bank.cn")
        )
    assert err.value.code == "invitation_expired"
    assert not BankMembership.objects.filter(user__email="late@bank.cn").exists()


def test_branch_names_unique_per_bank(bank_admin: Any, bank: Any) -> None:
    services.branch_create(actor=bank_admin, bank=bank, name="虎门支行", town="humen")
    with pytest.raises(Conflict):
        services.branch_create(actor=bank_admin, bank=bank, name="虎门支行")


def test_enterprise_owner_invites_member_who_joins(
    enterprise_owner: Any, enterprise: Any, login: Any
) -> None:
    invitation = enterprise_invitation_create(
        actor=enterprise_owner,
        enterprise=enterprise,
        email="colleague@example.com",
        role="member",
        accept_url_base="http://testserver/enterprises/invitations/",
    )
    colleague = UserFactory.create(email="colleague@example.com")
    client = login(colleague)
    response = client.post(f"/enterprises/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["enterprise"]["role"] == "member"


def test_enterprise_admin_cannot_invite(enterprise_admin: Any, enterprise: Any) -> None:
    with pytest.raises(PermissionDenied):
        enterprise_invitation_create(
            actor=enterprise_admin,
            enterprise=enterprise,
            email="x@example.com",
            role="member",
            accept_url_base=BASE,
        )


def test_bank_invite_page_flow(
    bank_admin: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(bank_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/banks/mine/", {"invite-email": "o2@bank.cn", "invite-role": "officer"}
        )
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["o2@bank.cn"]
    pending = client.get("/banks/mine/").content.decode()
    assert "o2@bank.cn" in pending
    assert "待接受的邀请" in pending
    token = BankInvitation.objects.get(email="o2@bank.cn").token
    invitee = UserFactory.create(email="o2@bank.cn")
    accept = login(invitee, mfa=False)
    accept.post(f"/banks/invitations/{token}/")
    # the new officer must now set up MFA before seeing the bank page
    assert accept.get("/banks/mine/")["Location"].startswith("/accounts/2fa/totp/activate")
    assert Client().get("/banks/mine/").status_code == 302
