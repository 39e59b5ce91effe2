"""In-app notifications: the service, who hears of authorisations and product moves, the page,
the API and the bell's count."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from banks import products
from enterprises import authorization
from enterprises.models import Enterprise
from enterprises.notices import send_expiry_notices
from tests.factories import PASSWORD, UserFactory, make_bank_member
from xinyidai.core.models import Notification, PlatformRole, User
from xinyidai.core.notifications import notify_users

pytestmark = pytest.mark.django_db


def rows_of(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("id"))


def note(user: User, title: str = "测试通知", url: str = "", **extra: Any) -> Notification:
    return Notification.objects.create(user=user, kind="test", title=title, url=url, **extra)


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------
def test_notify_users_writes_one_row_per_active_user_in_one_insert(
    django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = UserFactory.create(email="a@example.com")
    b = UserFactory.create(email="b@example.com")
    gone = UserFactory.create(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1):
        notify_users(users=[a, b, a, gone], kind="test.kind", title="标题", body="正文", url="/x/")
    assert [(n.kind, n.title, n.body, n.url, n.read_at) for n in rows_of(a)] == [
        ("test.kind", "标题", "正文", "/x/", None)
    ]
    assert len(rows_of(b)) == 1
    assert rows_of(gone) == []
    assert mail.outbox == []  # no e-mail unless asked


def test_notify_users_without_anyone_does_nothing(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        notify_users(users=[], kind="test", title="标题")


def test_notify_users_mails_the_same_people_when_asked(
    bank: Any, enterprise: Enterprise, django_capture_on_commit_callbacks: Any
) -> None:
    a = UserFactory.create(email="a@example.com")
    b = UserFactory.create(email="b@example.com")
    gone = UserFactory.create(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify_users(
            users=[b, a, gone],
            kind="authorization.first_read",
            title="标题",
            email_template="authorization_first_read",
            email_context={
                "bank": bank,
                "enterprise": enterprise,
                "at": timezone.localtime(),
                "site_url": "https://xyd.example",
            },
        )
    (message,) = mail.outbox
    assert message.to == ["a@example.com", "b@example.com"]
    assert bank.name in message.subject
    assert Notification.objects.count() == 2


# ---------------------------------------------------------------------------------------------
# Authorisation notices
# ---------------------------------------------------------------------------------------------
def grant(owner: User, enterprise: Enterprise, bank: Any) -> Any:
    return authorization.authorization_grant(
        actor=owner,
        enterprise=enterprise,
        grantee_bank_id=bank.pk,
        scope="portrait",
        purpose="pre_loan",
        password=PASSWORD,
    )


def test_first_bank_read_notifies_owners_and_admins_in_app(
    enterprise: Enterprise,
    enterprise_owner: User,
    enterprise_admin: User,
    enterprise_member: User,
    bank: Any,
    bank_officer: User,
    bank_admin: User,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    grant(enterprise_owner, enterprise, bank)
    url = f"/api/v1/enterprises/{enterprise.uscc}/summary/"
    with django_capture_on_commit_callbacks(execute=True):
        assert login(bank_officer).get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert login(bank_admin).get(url).status_code == 200  # same bank: no second notice
    notices = Notification.objects.filter(kind="authorization.first_read")
    assert {n.user for n in notices} == {enterprise_owner, enterprise_admin}
    for n in notices:
        assert bank.name in n.title and enterprise.name in n.body
        assert n.url == reverse("enterprise_access_log")
    # the e-mail is unchanged
    (message,) = [m for m in mail.outbox if "首次查询" in m.subject]
    assert sorted(message.to) == sorted([enterprise_owner.email, enterprise_admin.email])


def test_expiry_notice_in_app_for_owners_and_admins(
    enterprise: Enterprise,
    enterprise_owner: User,
    enterprise_admin: User,
    enterprise_member: User,
    bank: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    a = grant(enterprise_owner, enterprise, bank)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_expiry_notices(now=a.valid_until - timedelta(days=10)) == 1
    notices = Notification.objects.filter(kind="authorization.expiring")
    assert {n.user for n in notices} == {enterprise_owner, enterprise_admin}
    for n in notices:
        assert a.number in n.title and bank.name in n.body and "10 天" in n.body
        assert n.url == reverse("authorization_detail", args=[a.pk])
    assert len([m for m in mail.outbox if "即将到期" in m.subject]) == 1
    send_expiry_notices(now=a.valid_until - timedelta(days=9))  # once only
    assert Notification.objects.filter(kind="authorization.expiring").count() == 2


# ---------------------------------------------------------------------------------------------
# Product review
# ---------------------------------------------------------------------------------------------
TERMS: dict[str, Any] = {
    "name": "科创信用贷",
    "kind": "credit",
    "guarantee_methods": ["credit"],
    "amount_min": Decimal("100000"),
    "amount_max": Decimal("3000000"),
    "rate_min": Decimal("3.45"),
    "rate_max": Decimal("4.2"),
    "term_min": 6,
    "term_max": 36,
    "repayment_methods": ["interest_first"],
}


@pytest.fixture
def second_office(db: Any) -> User:
    return UserFactory.create(email="staff2@xyb.gov.cn", platform_role=PlatformRole.CREDIT_OFFICE)


def submitted(officer: User) -> Any:
    product = products.product_create(actor=officer, code="KC-01", terms=TERMS)
    return products.product_move(actor=officer, product_id=product.pk, move="submit")


def test_submit_notifies_every_credit_office_user(
    bank: Any,
    bank_officer: User,
    bank_admin: User,
    credit_office: User,
    second_office: User,
    superuser: User,
) -> None:
    UserFactory.create(platform_role=PlatformRole.CREDIT_OFFICE, is_active=False)
    product = submitted(bank_officer)
    notices = Notification.objects.filter(kind="product.submitted")
    assert {n.user for n in notices} == {credit_office, second_office}
    (first, _second) = notices
    assert first.title == f"新产品待审核：{bank.name} 科创信用贷"
    assert first.url == reverse("product_manage_detail", args=[product.pk])
    assert rows_of(bank_officer) == [] and rows_of(bank_admin) == []


def test_publish_and_reject_notify_the_banks_staff_not_the_actor(
    bank: Any,
    bank_officer: User,
    bank_admin: User,
    credit_office: User,
    second_office: User,
    other_bank: Any,
) -> None:
    stranger = make_bank_member(UserFactory.create(), other_bank, "officer").user
    product = submitted(bank_officer)
    products.product_move(
        actor=credit_office, product_id=product.pk, move="reject", reason="利率超限"
    )
    rejected = Notification.objects.filter(kind="product.rejected")
    assert {n.user for n in rejected} == {bank_officer, bank_admin}
    assert all("利率超限" in n.body and "科创信用贷" in n.title for n in rejected)

    products.product_move(actor=bank_officer, product_id=product.pk, move="submit")
    products.product_move(actor=credit_office, product_id=product.pk, move="publish")
    published = Notification.objects.filter(kind="product.published")
    assert {n.user for n in published} == {bank_officer, bank_admin}
    assert {n.url for n in published} == {reverse("product_manage_detail", args=[product.pk])}

    # the office hears only of the submissions; another bank's staff of nothing
    assert {n.kind for n in rows_of(credit_office)} == {"product.submitted"}
    assert {n.kind for n in rows_of(second_office)} == {"product.submitted"}
    assert rows_of(stranger) == []


def test_office_suspension_is_told_but_the_banks_own_is_not(
    bank_officer: User, bank_admin: User, credit_office: User
) -> None:
    product = submitted(bank_officer)
    products.product_move(actor=credit_office, product_id=product.pk, move="publish")
    products.product_move(actor=bank_admin, product_id=product.pk, move="suspend")
    assert not Notification.objects.filter(kind="product.suspended").exists()
    products.product_move(actor=credit_office, product_id=product.pk, move="resume")
    products.product_move(actor=credit_office, product_id=product.pk, move="suspend", reason="核查")
    suspended = Notification.objects.filter(kind="product.suspended")
    assert {n.user for n in suspended} == {bank_officer, bank_admin}
    assert all("核查" in n.body for n in suspended)
    assert Notification.objects.filter(kind="product.resumed").count() == 2


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------
def test_list_shows_only_own_notices_newest_first(plain_user: User, login: Any) -> None:
    other = UserFactory.create()
    note(plain_user, "较早的通知", created_at=timezone.now() - timedelta(hours=1))
    note(plain_user, "最新的通知")
    note(plain_user, "已读的通知", read_at=timezone.now(), created_at=timezone.now() - timedelta(1))
    note(other, "别人的通知")
    response = login(plain_user).get(reverse("notification_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("最新的通知") < html.index("较早的通知") < html.index("已读的通知")
    assert "别人的通知" not in html
    assert html.count("xyd-unread") == 2
    assert reverse("notification_read_all") in html


def test_list_is_paged_by_25(plain_user: User, login: Any) -> None:
    for n in range(30):
        note(plain_user, f"通知{n:02d}")
    response = login(plain_user).get(reverse("notification_list"))
    assert len(response.context["page"].object_list) == 25
    second = login(plain_user).get(reverse("notification_list") + "?page=2")
    assert len(second.context["page"].object_list) == 5


def test_open_marks_read_and_follows_the_link(plain_user: User, login: Any) -> None:
    n = note(plain_user, url="/enterprises/access-log/")
    response = login(plain_user).get(reverse("notification_open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == "/enterprises/access-log/"
    n.refresh_from_db()
    assert n.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "", "x/y"]
)
def test_open_never_leaves_the_site(plain_user: User, login: Any, url: str) -> None:
    n = note(plain_user, url=url)
    response = login(plain_user).get(reverse("notification_open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notification_list")
    n.refresh_from_db()
    assert n.read_at is not None


def test_open_refuses_another_users_notice(plain_user: User, login: Any) -> None:
    theirs = note(UserFactory.create(), url="/")
    assert login(plain_user).get(reverse("notification_open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_own(plain_user: User, login: Any) -> None:
    mine = [note(plain_user), note(plain_user)]
    theirs = note(UserFactory.create())
    client = login(plain_user)
    assert client.get(reverse("notification_read_all")).status_code == 405
    response = client.post(reverse("notification_read_all"))
    assert response.status_code == 302 and response["Location"] == reverse("notification_list")
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------
def test_api_lists_own_notices_and_filters_unread(plain_user: User, login: Any) -> None:
    read = note(plain_user, "已读", read_at=timezone.now(), url="/a/")
    unread = note(plain_user, "未读", url="/b/")
    note(UserFactory.create(), "别人的")
    client = login(plain_user)
    body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [unread.pk, read.pk]
    assert set(body["results"][0]) == {
        "id",
        "kind",
        "title",
        "body",
        "url",
        "created_at",
        "read_at",
        "is_read",
    }
    assert (body["results"][0]["is_read"], body["results"][1]["is_read"]) == (False, True)
    unread_only = client.get("/api/v1/notifications/?unread=true").json()
    assert [row["title"] for row in unread_only["results"]] == ["未读"]


def test_api_marks_one_and_all_read(plain_user: User, login: Any) -> None:
    first, second = note(plain_user), note(plain_user)
    theirs = note(UserFactory.create())
    client = login(plain_user)
    response = client.post(f"/api/v1/notifications/{first.pk}/read/")
    assert response.status_code == 200
    assert response.json()["id"] == first.pk and response.json()["is_read"] is True
    refused = client.post(f"/api/v1/notifications/{theirs.pk}/read/")
    assert refused.status_code == 404
    assert refused.json()["code"] == "notification_not_found"
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    second.refresh_from_db()
    theirs.refresh_from_db()
    assert second.read_at is not None and theirs.read_at is None


# ---------------------------------------------------------------------------------------------
# The bell
# ---------------------------------------------------------------------------------------------
def notification_queries(client: Client) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    sql = [q["sql"] for q in captured.captured_queries if "core_notification" in q["sql"]]
    return response.content.decode(), sql


def test_bell_counts_unread_with_one_query(plain_user: User, login: Any) -> None:
    note(plain_user)
    note(plain_user)
    note(plain_user, read_at=timezone.now())
    html, sql = notification_queries(login(plain_user))
    assert len(sql) == 1 and "COUNT(" in sql[0].upper()
    assert 'id="notification-bell"' in html
    assert '<span class="badge rounded-pill text-bg-danger">2' in html


def test_bell_without_unread_shows_no_badge(plain_user: User, login: Any) -> None:
    html, sql = notification_queries(login(plain_user))
    assert len(sql) == 1
    assert 'id="notification-bell"' in html and "text-bg-danger" not in html


def test_anonymous_visitors_cost_nothing(db: Any) -> None:
    html, sql = notification_queries(Client())
    assert sql == [] and 'id="notification-bell"' not in html


def test_notices_are_composed_in_the_site_language(
    enterprise: Any, enterprise_owner: Any, bank: Any
) -> None:
    """Whoever causes a notice may browse in English; the enterprise gets it in Chinese."""
    from django.utils import translation

    from enterprises.notices import notify_first_bank_read
    from xinyidai.core.models import Notification

    with translation.override("en"):
        notify_first_bank_read(bank_id=bank.pk, enterprise=enterprise)
    notice = Notification.objects.get(user=enterprise_owner)
    assert notice.title == f"{bank.name}首次查询了贵企业的信用数据"
