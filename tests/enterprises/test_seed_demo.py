from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from banks.models import Bank, BankMembership
from enterprises import uscc
from enterprises.management.commands.seed_demo import DEMO_PASSWORD
from enterprises.models import Enterprise, EnterpriseMembership
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db

DEMO_EMAILS = {
    "enterprise@example.com": ["enterprise_owner"],
    "bankadmin@example.com": ["bank_admin"],
    "bank@example.com": ["bank_officer"],
    "office@example.com": ["credit_office"],
    "tradecenter@example.com": ["trading_centre"],
    "admin@example.com": ["superuser"],
}


def _snapshot() -> tuple[list[str], int, int, int, int]:
    return (
        sorted(Enterprise.objects.values_list("uscc", flat=True)),
        User.objects.count(),
        Bank.objects.count(),
        EnterpriseMembership.objects.count(),
        BankMembership.objects.count(),
    )


def test_seed_demo_is_idempotent_and_prints_logins() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = _snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert _snapshot() == first
    assert first[1:] == (6, 1, 1, 2)
    assert len(first[0]) == 8
    assert all(uscc.is_valid(code) and code[2:8] == "441900" for code in first[0])
    for enterprise in Enterprise.objects.all():
        enterprise.full_clean()  # towns, industries and scales are valid choices
        assert enterprise.get_town_display() != enterprise.town
    printed = out.getvalue()
    assert DEMO_PASSWORD in printed
    for email in DEMO_EMAILS:
        assert email in printed
    # the demo firm has authorised the demo bank, once, so the bank logins can read it
    from enterprises.models import Authorization

    (grant,) = Authorization.objects.filter(purpose="pre_loan")
    assert (grant.scope, grant.purpose, grant.state()) == ("records", "pre_loan", "active")
    assert grant.number in printed
    # one demo loan application (twice seeded, still one) in the bank's queue, with its grant
    from lending.models import LoanApplication

    (application,) = LoanApplication.objects.select_related("authorization", "product_version")
    assert application.authorization is not None and application.product_version is not None
    assert (application.status, application.bank_id, application.authorization.purpose) == (
        "submitted",
        grant.grantee_bank_id,
        "loan_application",
    )
    assert application.product_version.name.startswith("演示")
    assert application.number in printed
    # and the demo firm is open to matching, to all banks
    (opt_in,) = Authorization.objects.filter(purpose="matching")
    assert (opt_in.grantee_bank_id, opt_in.scope, opt_in.state()) == (None, "summary", "active")
    assert Authorization.objects.count() == 3
    # the demo bank's products are in the marketplace, once
    from banks.models import LoanProduct

    assert sorted(LoanProduct.objects.values_list("code", "status", "listed")) == [
        ("DEMO-MORT", "published", True),
        ("DEMO-TAX", "published", True),
        ("DEMO-XYD", "published", True),
    ]
    assert "demo loan products in the marketplace: 3" in printed


@pytest.mark.parametrize("email", sorted(DEMO_EMAILS))
def test_every_demo_login_works_with_the_documented_password(email: str, settings: Any) -> None:
    settings.MFA_ENFORCED = False
    call_command("seed_demo", stdout=StringIO())
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["roles"] == DEMO_EMAILS[email]


def test_an_enterprise_has_at_most_one_owner_in_the_database() -> None:
    call_command("seed_demo", stdout=StringIO())
    enterprise = EnterpriseMembership.objects.get(role="owner").enterprise
    intruder = User.objects.create_user("intruder@example.com", "x" * 12)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnterpriseMembership.objects.create(user=intruder, enterprise=enterprise, role="owner")
