"""Who hears of each move of an application (通知): an in-app `Notification` and an e-mail after
the commit to the people concerned — the bank's staff of a submission, the enterprise of every
bank move, the officer (or the banks) of a withdrawal — and never the actor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from banks.models import LoanProduct
from enterprises.models import EnterpriseMembership
from lending import notices, services
from lending.models import Escalation, LoanApplication
from tests.factories import PASSWORD, BankFactory, UserFactory, make_bank_member
from tests.lending.conftest import submit_demand
from xinyidai.core.errors import Conflict
from xinyidai.core.models import Notification

pytestmark = pytest.mark.django_db

OWNER, EADMIN = "owner@example.com", "eadmin@example.com"
OFFICER, BADMIN = "officer@example.com", "badmin@example.com"
OTHER_OFFICER = "officer@other-bank.cn"
ENTERPRISE = "东莞市示范科技有限公司"


def apply(actor: Any, product: LoanProduct) -> LoanApplication:
    result = services.application_submit(
        actor=actor,
        product_id=product.pk,
        amount=Decimal("500000"),
        term_months=12,
        repayment_method="interest_first",
        purpose="采购原材料",
        password=PASSWORD,
    )
    assert result.application is not None
    return result.application


def told(kind: str) -> list[str]:
    """Who got a notice of `kind`, by e-mail address."""
    return sorted(Notification.objects.filter(kind=kind).values_list("user__email", flat=True))


def notice(kind: str, email: str) -> Notification:
    return Notification.objects.get(kind=kind, user__email=email)


def mailed() -> list[tuple[str, ...]]:
    return sorted(tuple(m.to) for m in mail.outbox)


@pytest.fixture
def quiet() -> None:
    """Forget the notices and mail written while the fixtures were built (product reviews)."""
    Notification.objects.all().delete()
    mail.outbox.clear()


# ---------------------------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------------------------
def test_a_submission_tells_the_banks_staff(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_officer: Any,
    quiet: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        application = apply(enterprise_owner, product)
    assert told("application.submit") == [BADMIN, OFFICER]
    n = notice("application.submit", OFFICER)
    assert n.title == f"新的贷款申请 {application.number}：{ENTERPRISE}"
    assert n.body == f"金额 {application.amount} 元，期限 12 个月，用途：采购原材料"
    assert n.url == reverse("application_detail", args=[application.pk])
    assert n.read_at is None
    # one e-mail to all of them, after the commit
    assert mailed() == [(BADMIN, OFFICER)]
    message = mail.outbox[0]
    assert message.subject == settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + n.title
    assert n.body in message.body
    assert f"{settings.SITE_URL}{n.url}" in message.body


def test_a_demand_tells_the_staff_of_every_bank_it_was_offered_to(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_officer: Any,
    quiet: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stranger = UserFactory.create(email="officer@third-bank.cn")
    make_bank_member(stranger, BankFactory.create(name="第三家银行"), "admin")
    with django_capture_on_commit_callbacks(execute=True):
        demand = submit_demand(enterprise_owner)
    assert told("application.submit") == [BADMIN, OFFICER, OTHER_OFFICER]
    assert notice("application.submit", OTHER_OFFICER).title == (
        f"新的融资需求 {demand.number}：{ENTERPRISE}"
    )
    assert mailed() == [(BADMIN, OFFICER, OTHER_OFFICER)]
    assert not Notification.objects.filter(user__email__in=[OWNER, stranger.email]).exists()


# ---------------------------------------------------------------------------------------------
# The bank's moves tell the enterprise
# ---------------------------------------------------------------------------------------------
WALK: list[tuple[str, dict[str, Any], str, str]] = [
    ("accept", {}, "贷款申请 {n}已由东莞示范银行接单", ""),
    (
        "contact",
        {"reason": "电话沟通了材料清单"},
        "东莞示范银行已就贷款申请 {n}与贵企业联系",
        "说明：电话沟通了材料清单",
    ),
    ("start_review", {}, "贷款申请 {n}进入审批", ""),
    (
        "approve",
        {
            "approved_amount": Decimal("400000"),
            "approved_rate": Decimal("3.6"),
            "approved_term_months": 12,
        },
        "贷款申请 {n}已获批准",
        "批准金额 400000 元，年利率 3.6%，期限 12 个月。",
    ),
    (
        "disburse",
        {
            "disbursed_amount": Decimal("400000"),
            "disbursed_rate": Decimal("3.6"),
            "contract_number": "HT-2026-001",
            "disbursed_on": "2026-11-20",
        },
        "贷款申请 {n}已放款",
        "放款金额 400000 元，放款日期 2026-11-20，合同编号 HT-2026-001。",
    ),
    ("close", {}, "贷款申请 {n}已结清", ""),
]


def test_every_bank_move_tells_the_enterprises_owners_admins_and_submitter(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    enterprise_member: Any,
    bank_officer: Any,
    bank_admin: Any,
    quiet: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    submitter = UserFactory.create(email="finance@example.com")
    membership = EnterpriseMembership.objects.create(
        user=submitter, enterprise=enterprise_owner.enterprise_membership.enterprise, role="admin"
    )
    application = apply(submitter, product)
    # the submitter is a plain member by now, and still hears of the application
    membership.role = "member"
    membership.save()
    for move, data, title, body in WALK:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            services.application_move(
                actor=bank_officer, application_id=application.pk, move=move, **data
            )
        kind = f"application.{move}"
        assert told(kind) == [EADMIN, "finance@example.com", OWNER], move
        n = notice(kind, OWNER)
        assert (n.title, n.body) == (title.format(n=application.number), body), move
        assert mailed() == [(EADMIN, "finance@example.com", OWNER)], move
    # the officer who moved and the bank's admin hear nothing of their own bank's moves
    assert (
        not Notification.objects.filter(user__in=[bank_officer, bank_admin, enterprise_member])
        .exclude(kind="application.submit")
        .exists()
    )


def test_a_rejection_names_the_reason(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, quiet: None
) -> None:
    application = apply(enterprise_owner, product)
    services.application_move(actor=bank_officer, application_id=application.pk, move="accept")
    services.application_move(
        actor=bank_officer,
        application_id=application.pk,
        move="reject",
        reject_reason="materials",
        reason="缺少近两年财务报表",
    )
    n = notice("application.reject", OWNER)
    assert n.title == f"贷款申请 {application.number}未获批准"
    assert n.body == "原因：资料不全或不实 缺少近两年财务报表"


def test_a_refused_move_tells_nobody(
    product: LoanProduct, enterprise_owner: Any, bank_admin: Any, quiet: None
) -> None:
    application = apply(enterprise_owner, product)
    before = Notification.objects.count()
    with pytest.raises(Conflict):
        services.application_move(actor=bank_admin, application_id=application.pk, move="close")
    assert Notification.objects.count() == before


def test_a_demand_taken_by_a_bank_tells_the_enterprise_which_bank(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
    quiet: None,
) -> None:
    demand = submit_demand(enterprise_owner)
    services.application_move(actor=other_bank_officer, application_id=demand.pk, move="accept")
    assert told("application.accept") == [OWNER]
    assert notice("application.accept", OWNER).title == (
        f"融资需求 {demand.number}已由另一家银行接单"
    )


# ---------------------------------------------------------------------------------------------
# Withdrawal tells the bank
# ---------------------------------------------------------------------------------------------
def test_withdrawing_before_the_pickup_tells_the_banks_staff(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    quiet: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    application = apply(enterprise_owner, product)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_move(
            actor=enterprise_owner,
            application_id=application.pk,
            move="withdraw",
            reason="不需要了",
        )
    assert told("application.withdraw") == [BADMIN, OFFICER]
    n = notice("application.withdraw", OFFICER)
    assert (n.title, n.body) == (
        f"{ENTERPRISE}撤回了贷款申请 {application.number}",
        "说明：不需要了",
    )
    assert mailed()[-1] == (BADMIN, OFFICER)


def test_withdrawing_after_the_pickup_tells_the_officer(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    quiet: None,
) -> None:
    application = apply(enterprise_owner, product)
    services.application_move(actor=bank_officer, application_id=application.pk, move="accept")
    services.application_move(
        actor=enterprise_admin, application_id=application.pk, move="withdraw"
    )
    assert told("application.withdraw") == [OFFICER]


def test_withdrawing_a_demand_in_the_pool_tells_every_offered_bank(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_officer: Any,
    quiet: None,
) -> None:
    demand = submit_demand(enterprise_owner)
    services.application_move(actor=enterprise_owner, application_id=demand.pk, move="withdraw")
    assert told("application.withdraw") == [BADMIN, OFFICER, OTHER_OFFICER]
    assert notice("application.withdraw", OTHER_OFFICER).title == (
        f"{ENTERPRISE}撤回了融资需求 {demand.number}"
    )


# ---------------------------------------------------------------------------------------------
# Never the actor; only active users; in the site's language; after the commit
# ---------------------------------------------------------------------------------------------
def test_the_actor_is_never_told_of_their_own_move(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    quiet: None,
) -> None:
    application = apply(enterprise_owner, product)
    Notification.objects.all().delete()
    # whoever acts is left out even when they would be among the people told
    notices.application_moved(actor=enterprise_owner, application=application, move="accept")
    assert told("application.accept") == [EADMIN]
    notices.application_moved(actor=bank_admin, application=application, move="submit")
    assert told("application.submit") == [OFFICER]
    notices.application_moved(actor=None, application=application, move="start_review")
    assert told("application.start_review") == [EADMIN, OWNER]


def test_inactive_people_are_not_told(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    quiet: None,
) -> None:
    bank_admin.is_active = False
    bank_admin.save()
    application = apply(enterprise_owner, product)
    assert told("application.submit") == [OFFICER]
    enterprise_admin.is_active = False
    enterprise_admin.save()
    services.application_move(actor=bank_officer, application_id=application.pk, move="accept")
    assert told("application.accept") == [OWNER]


def test_notices_are_written_in_the_site_language(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, quiet: None
) -> None:
    application = apply(enterprise_owner, product)
    with translation.override("en"):
        services.application_move(actor=bank_officer, application_id=application.pk, move="accept")
    assert notice("application.accept", OWNER).title == (
        f"贷款申请 {application.number}已由东莞示范银行接单"
    )


def test_mail_waits_for_the_commit(
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    quiet: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply(enterprise_owner, product)
    assert told("application.submit") == [OFFICER]  # written in the transaction
    assert mail.outbox == [] and len(callbacks) >= 1


# ---------------------------------------------------------------------------------------------
# Escalations (the sweep's notices; tested end to end in test_sla.py)
# ---------------------------------------------------------------------------------------------
def test_a_demands_missed_pickup_alone_sends_no_overdue_notice(
    product: LoanProduct, enterprise_owner: Any, credit_office: Any, quiet: None
) -> None:
    demand = submit_demand(enterprise_owner)
    assert demand.pickup_due is not None
    row = Escalation.objects.create(application=demand, stage="pickup", due=demand.pickup_due)
    notices.escalations([row])
    notices.escalations([])
    assert told("application.overdue") == []
    contact = Escalation.objects.create(application=demand, stage="contact", due=demand.pickup_due)
    notices.escalations([row, contact])
    n = notice("application.overdue", "staff@xyb.gov.cn")
    assert n.title == "1 件贷款申请超过服务时限"
    assert n.body.startswith(f"{demand.number} {ENTERPRISE}：首次联系超时（期限 ")
    assert n.url == reverse("application_list") + "?overdue=1"
