"""Bank and credit-office roles cannot reach their pages before they set up TOTP."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from tests.conftest import activate_totp
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

MFA_ROLES = ["bank_admin", "bank_officer", "credit_office", "superuser"]
NO_MFA_ROLES = ["plain_user", "enterprise_owner", "enterprise_member", "trading_centre"]


def current_code(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.mark.parametrize("role", MFA_ROLES)
@pytest.mark.parametrize("path", ["/", "/banks/mine/", "/enterprises/registry/", "/admin/"])
def test_mfa_roles_are_sent_to_totp_setup(role: str, path: str, request: Any, login: Any) -> None:
    client = login(request.getfixturevalue(role), mfa=False)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


@pytest.mark.parametrize("role", MFA_ROLES)
def test_mfa_roles_get_403_from_the_api_until_set_up(role: str, request: Any, login: Any) -> None:
    response = login(request.getfixturevalue(role), mfa=False).get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


# views that set their own permission_classes drop the default MfaSatisfied; the middleware
# still refuses them before the view runs (guarded here)
OWN_PERMISSIONS = [
    "/api/v1/ledger/",
    "/api/v1/credit-records/quality/",
    "/api/v1/lending/league/",
    "/api/v1/calendar/days/",
]


@pytest.mark.parametrize("path", OWN_PERMISSIONS)
def test_role_checked_endpoints_also_need_the_second_factor(
    path: str, credit_office: Any, login: Any
) -> None:
    refused = login(credit_office, mfa=False).get(path)
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
    assert login(credit_office).get(path).status_code == 200


@pytest.mark.parametrize("role", NO_MFA_ROLES)
def test_other_roles_are_not_forced(role: str, request: Any, login: Any) -> None:
    response = login(request.getfixturevalue(role), mfa=False).get("/")
    assert response.status_code == 200


def test_setup_page_itself_is_reachable(bank_officer: Any, login: Any) -> None:
    client = login(bank_officer, mfa=False)
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    # allauth first asks for the password again, on a page the middleware lets through
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))


def test_officer_sets_up_totp_through_the_page_then_reaches_the_bank(
    bank_officer: Any, login: Any
) -> None:
    client = login(bank_officer, mfa=False)
    assert client.get("/banks/mine/").status_code == 302
    reauth = client.post(
        reverse("account_reauthenticate") + "?next=" + reverse("mfa_activate_totp"),
        {"password": PASSWORD},
    )
    assert reauth.status_code == 302
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    done = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=bank_officer, type="totp").exists()
    assert client.get("/banks/mine/").status_code == 200


def test_login_asks_for_the_totp_code(bank_officer: Any) -> None:
    secret = activate_totp(bank_officer)
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": bank_officer.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/api/v1/me/").status_code == 403  # not signed in yet
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    ok = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert ok.status_code == 302
    me = client.get("/api/v1/me/").json()
    assert me["roles"] == ["bank_officer"]
    assert me["mfa_enabled"] is True


def test_demo_switch_turns_enforcement_off_and_shows_banner(
    bank_officer: Any, login: Any, settings: Any
) -> None:
    settings.MFA_ENFORCED = False
    client = login(bank_officer, mfa=False)
    for path in ("/", "/banks/mine/", reverse("account_change_password"), "/no-such-page/"):
        response = client.get(path)
        assert response.status_code == (404 if path == "/no-such-page/" else 200), path
        assert 'id="mfa-off-banner"' in response.content.decode(), path


def test_no_banner_when_enforced(enterprise_owner: Any, login: Any) -> None:
    assert 'id="mfa-off-banner"' not in login(enterprise_owner).get("/").content.decode()


def test_api_token_needs_totp_for_mfa_roles(bank_officer: Any) -> None:
    client = Client()
    url = "/api/v1/auth/token/"
    creds = {"email": bank_officer.email, "password": PASSWORD}
    not_set_up = client.post(url, creds, content_type="application/json")
    assert (not_set_up.status_code, not_set_up.json()["code"]) == (403, "mfa_required")
    secret = activate_totp(bank_officer)
    no_code = client.post(url, creds, content_type="application/json")
    assert (no_code.status_code, no_code.json()["code"]) == (401, "otp_invalid")
    ok = client.post(
        url, {**creds, "otp_code": current_code(secret)}, content_type="application/json"
    )
    assert ok.status_code == 200
    token = ok.json()["token"]
    me = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/")
    assert me.json()["email"] == bank_officer.email


def test_api_token_for_enterprise_user_and_wrong_password(enterprise_owner: Any) -> None:
    client = Client()
    bad = client.post(
        "/api/v1/auth/token/",
        {"email": enterprise_owner.email, "password": "nope"},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_credentials")
    ok = client.post(
        "/api/v1/auth/token/",
        {"email": enterprise_owner.email, "password": PASSWORD},
        content_type="application/json",
    )
    token = ok.json()["token"]
    me = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/").json()
    assert me["enterprise"]["role"] == "owner"


def test_a_token_stops_working_when_its_user_drops_totp(bank_officer: Any) -> None:
    secret = activate_totp(bank_officer)
    token = (
        Client()
        .post(
            "/api/v1/auth/token/",
            {"email": bank_officer.email, "password": PASSWORD, "otp_code": current_code(secret)},
            content_type="application/json",
        )
        .json()["token"]
    )
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 200
    Authenticator.objects.filter(user=bank_officer).delete()
    refused = api.get("/api/v1/me/")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
