"""The application, matching and recommended-list pages on a phone-sized screen (390 × 844), in
headless Chromium: for the enterprise, the bank officer, the bank admin and the credit office
each page loads, nothing is wider than the screen, and the enterprise and the officer can
carry an application through its first moves with their thumbs (apply → accept → record
contact)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from banks.models import LoanProduct
from enterprises.authorization import authorization_grant
from lending import services
from lending.models import LoanApplication
from tests.factories import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"
    ),
]
PHONE = {"width": 390, "height": 844}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def plain_static(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def phone(browser: Any, live_server: Any, login: Any) -> Any:
    """phone(user) → a page signed in as `user` on a phone-sized screen."""
    contexts = []

    def open_as(user: Any) -> Any:
        client = login(user)
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_as
    for context in contexts:
        context.close()


def fits(page: Any) -> None:
    """Nothing on the page is wider than the phone's screen (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


def open_page(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    fits(page)


def test_enterprise_applies_and_the_officer_accepts_on_a_phone(
    phone: Any,
    live_server: Any,
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
) -> None:
    owner = phone(enterprise_owner)
    open_page(owner, f"{live_server.url}/market/{product.pk}/")
    owner.click("#apply-button")
    owner.wait_for_url(f"**/market/{product.pk}/apply/")
    fits(owner)
    assert "新授权" in owner.inner_text("#authorization-plan")
    owner.fill("#id_amount", "")  # typed from scratch, as a person would
    owner.fill("#id_amount", "500000")
    owner.fill("#id_term_months", "12")
    owner.fill("#id_purpose", "采购原材料")
    owner.fill("#id_password", PASSWORD)
    owner.click("#apply-submit")
    owner.wait_for_selector("#service-levels")
    fits(owner)
    application = LoanApplication.objects.get()
    assert (application.amount, application.status) == (Decimal("500000"), "submitted")
    assert application.number in owner.inner_text("body")
    open_page(owner, f"{live_server.url}/loans/")
    assert application.number in owner.inner_text("#application-list")

    officer = phone(bank_officer)
    open_page(officer, f"{live_server.url}/loans/?queue=pool")
    officer.click(f"text={application.number}")
    officer.wait_for_selector("#move-accept")
    fits(officer)
    officer.click("#move-accept button[type=submit]")
    officer.wait_for_selector("#move-contact")
    fits(officer)
    officer.fill("#id_contact-reason", "电话联系法定代表人")
    officer.click("#move-contact button[type=submit]")
    officer.wait_for_selector("text=电话联系法定代表人")
    application.refresh_from_db()
    assert (application.status, application.officer_id) == ("accepted", bank_officer.pk)
    assert application.first_contact_at is not None


def test_every_role_reads_its_pages_on_a_phone(
    phone: Any,
    live_server: Any,
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
    credit_office: Any,
) -> None:
    submission = services.application_submit(
        actor=enterprise_owner,
        product_id=product.pk,
        amount=Decimal("800000"),
        term_months=24,
        repayment_method="interest_first",
        purpose="扩大生产线，购置注塑设备及模具",
        password=PASSWORD,
    )
    application = submission.application
    assert application is not None
    detail = f"{live_server.url}/loans/{application.pk}/"
    authorization_grant(  # open to matching: the bank's recommendations list the firm
        actor=enterprise_owner,
        enterprise=enterprise_owner.enterprise_membership.enterprise,
        grantee_bank_id=None,
        scope="summary",
        purpose="matching",
        password=PASSWORD,
    )
    matches = f"/banks/products/{product.pk}/matches/"
    pages = {
        enterprise_owner: [
            "/loans/",
            "/loans/demands/new/",
            detail,
            "/market/",
            "/loans/recommended/",
            "/loans/invitations/",
        ],
        bank_officer: ["/loans/", detail, matches, "/loans/invitations/", "/loans/lists/bank/"],
        bank_admin: ["/loans/", detail, "/loans/league/", matches],
        credit_office: [
            "/loans/",
            detail,
            "/loans/league/",
            "/loans/punishments/",
            "/loans/lists/",
            "/loans/lists/criteria/",
            "/loans/lists/new/",
        ],
    }
    for user, urls in pages.items():
        page = phone(user)
        for url in urls:
            open_page(page, url if url.startswith("http") else live_server.url + url)
            assert page.locator("main h1, h1").first.is_visible(), (user.email, url)
            if url == matches:
                assert "匹配度" in page.inner_text("#match-list"), user.email
    # the menu opens on a phone and leads to the applications
    page = phone(credit_office)
    open_page(page, live_server.url + "/")
    page.click("button.navbar-toggler")
    page.click("#office-lending-menu")
    page.click("#office-lending-menu + .dropdown-menu >> text=贷款申请")
    page.wait_for_url("**/loans/")
    assert application.number in page.inner_text("#application-list")
