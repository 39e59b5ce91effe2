from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db


def _link(body: str) -> str:
    match = re.search(r"https?://testserver(\S+)", body)
    assert match, body
    return match.group(1)


def test_signup_needs_email_verification_then_logs_in(
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "Founder@Example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    user = User.objects.get(email="founder@example.com")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[信易贷]")
    # not verified yet: the account cannot sign in
    assert client.get("/api/v1/me/").status_code == 403
    confirm = _link(str(mail.outbox[0].body))
    assert client.post(confirm).status_code == 302
    assert client.get("/api/v1/me/").json()["email"] == user.email


def test_signup_with_taken_email_does_not_reveal_it(
    plain_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """allauth's enumeration protection: the page looks the same, the owner gets a mail."""
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            reverse("account_signup"),
            {"email": plain_user.email, "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    assert User.objects.filter(email=plain_user.email).count() == 1
    assert mail.outbox[-1].to == [plain_user.email]


def test_signup_form_errors_are_chinese() -> None:
    response = Client().post(
        reverse("account_signup"), {"email": "x@example.com", "password1": "a", "password2": "b"}
    )
    assert response.status_code == 200
    assert "密码" in response.content.decode()
    assert not User.objects.filter(email="x@example.com").exists()


def test_password_reset_sends_mail(
    plain_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("account_reset_password"), {"email": plain_user.email})
    assert response.status_code == 302
    assert mail.outbox[-1].to == [plain_user.email]
    assert "/accounts/password/reset/key/" in mail.outbox[-1].body


def test_login_failures_are_rate_limited(plain_user: Any) -> None:
    client = Client()
    pages = [
        client.post(
            reverse("account_login"), {"login": plain_user.email, "password": "wrong"}
        ).content.decode()
        for _ in range(6)
    ]
    assert all("登录失败次数过多" not in page for page in pages[:5])
    assert "登录失败次数过多" in pages[5]
    # even the right password is refused while limited
    right = client.post(reverse("account_login"), {"login": plain_user.email, "password": PASSWORD})
    assert "登录失败次数过多" in right.content.decode()
    assert client.get("/api/v1/me/").status_code == 403


def test_pages_are_chinese_by_default_and_english_on_request(plain_user: Any) -> None:
    client = Client()
    zh = client.get(reverse("account_login")).content.decode()
    assert 'lang="zh-hans"' in zh
    assert "登录" in zh
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    en = client.get(reverse("account_login")).content.decode()
    assert 'lang="en"' in en
    assert "Sign In" in en


def test_uscc_errors_translate_to_english() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    body = client.get("/api/v1/uscc/check/?code=91441900ABCDEFGHIO").json()
    assert body["valid"] is False
    assert body["errors"][0]["code"] == "illegal_character"
    assert re.search(r"[A-Za-z]{4,}", body["errors"][0]["message"])
    assert not re.search(r"[\u4e00-\u9fff]", body["errors"][0]["message"])


def test_superuser_command_creates_by_email(db: Any) -> None:
    user = User.objects.create_superuser("Root@Example.com", "x" * 12)
    assert (user.email, user.is_staff, user.is_superuser) == ("root@example.com", True, True)
    assert UserFactory.create().get_short_name().startswith("用户")


def test_set_platform_role_command(plain_user: Any, enterprise_owner: Any) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    call_command("set_platform_role", plain_user.email.upper(), "credit_office", stdout=StringIO())
    plain_user.refresh_from_db()
    assert plain_user.platform_role == "credit_office"
    with pytest.raises(CommandError, match="belongs to an enterprise"):
        call_command("set_platform_role", enterprise_owner.email, "credit_office")
    with pytest.raises(CommandError, match="no user"):
        call_command("set_platform_role", "ghost@example.com", "none")
    feed = UserFactory.create(email="feed@hrss.dg.gov.cn")
    with pytest.raises(CommandError, match="needs --department"):
        call_command("set_platform_role", feed.email, "data_source")
    call_command(
        "set_platform_role",
        feed.email,
        "data_source",
        "--department",
        "东莞市人社局",
        stdout=StringIO(),
    )
    feed.refresh_from_db()
    assert (feed.platform_role, feed.department) == ("data_source", "东莞市人社局")


def test_english_catalogue_is_complete() -> None:
    """Every Chinese message has an English translation (run `make messages` after adding text)."""
    from pathlib import Path

    po = (Path(__file__).parent.parent / "locale/en/LC_MESSAGES/django.po").read_text("utf-8")
    entries = po.split("\n\n")[1:]
    # an empty translation is `msgstr ""` (or `msgstr[n] ""`) with no continuation line after it
    untranslated = [e for e in entries if re.search(r'^msgstr(\[\d+\])? ""\n(?!")', e + "\n", re.M)]
    assert "#, fuzzy" not in po
    assert untranslated == []
    assert len(entries) > 300
