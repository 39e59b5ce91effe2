"""Who is told of each move of an application, in-app and by e-mail (通知).

The enterprise hears of every move the bank makes; the bank hears of submissions and
withdrawals; the credit office hears of missed service levels and of demands nobody picked
up. Nobody is told of their own move."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from enterprises.notices import enterprise_admins
from lending.models import ApplicationKind, Escalation, LoanApplication, SlaStage
from xinyidai.core.models import PlatformRole, User
from xinyidai.core.notifications import in_site_language, notify_users


def bank_staff(bank_ids: Iterable[int], *, admins_only: bool = False) -> QuerySet[User]:
    users = User.objects.filter(bank_membership__bank_id__in=list(bank_ids), is_active=True)
    if admins_only:
        users = users.filter(bank_membership__role="admin")
    return users


def credit_office() -> QuerySet[User]:
    return User.objects.filter(platform_role=PlatformRole.CREDIT_OFFICE, is_active=True)


def enterprise_people(application: LoanApplication) -> list[User]:
    """The enterprise's owners and admins, and whoever submitted the application."""
    people = enterprise_admins(application.enterprise)
    if application.submitted_by_id not in {u.pk for u in people}:
        people.append(application.submitted_by)
    return people


def _send(users: Iterable[User], *, kind: str, title: str, body: str, url: str) -> None:
    notify_users(
        users=users,
        kind=kind,
        title=title,
        body=body,
        url=url,
        email_template="application_notice",
        email_context={"title": title, "body": body, "url": url, "site_url": settings.SITE_URL},
    )


def _what(application: LoanApplication) -> str:
    if application.kind == ApplicationKind.DEMAND:
        return _("融资需求 %(number)s") % {"number": application.number}
    return _("贷款申请 %(number)s") % {"number": application.number}


def _title(move: str, application: LoanApplication) -> str:
    names = {
        "what": _what(application),
        "enterprise": application.enterprise.name,
        "bank": application.bank.name if application.bank else "",
    }
    titles = {
        "submit": _("新的%(what)s：%(enterprise)s"),
        "accept": _("%(what)s已由%(bank)s接单"),
        "contact": _("%(bank)s已就%(what)s与贵企业联系"),
        "start_review": _("%(what)s进入审批"),
        "approve": _("%(what)s已获批准"),
        "reject": _("%(what)s未获批准"),
        "disburse": _("%(what)s已放款"),
        "close": _("%(what)s已结清"),
        "withdraw": _("%(enterprise)s撤回了%(what)s"),
    }
    return titles[move] % names


def _body(move: str, application: LoanApplication, reason: str) -> str:
    a = application
    if move == "approve":
        return _("批准金额 %(amount)s 元，年利率 %(rate)s%%，期限 %(term)s 个月。") % {
            "amount": a.approved_amount,
            "rate": a.approved_rate,
            "term": a.approved_term_months,
        }
    if move == "reject":
        text = _("原因：%(reason)s") % {"reason": a.get_reject_reason_display()}
        return f"{text} {a.reject_note}".strip()
    if move == "disburse":
        return _("放款金额 %(amount)s 元，放款日期 %(on)s，合同编号 %(contract)s。") % {
            "amount": a.disbursed_amount,
            "on": a.disbursed_on,
            "contract": a.contract_number,
        }
    if move == "submit":
        return _("金额 %(amount)s 元，期限 %(term)s 个月，用途：%(purpose)s") % {
            "amount": a.amount,
            "term": a.term_months,
            "purpose": a.purpose,
        }
    return _("说明：%(reason)s") % {"reason": reason} if reason else ""


@in_site_language
def application_moved(
    *, actor: Any, application: LoanApplication, move: str, reason: str = ""
) -> None:
    """Tell the people concerned by `move` (never the actor)."""
    if move == "submit":
        if application.kind == ApplicationKind.DEMAND:
            users: Iterable[User] = bank_staff(application.offers.values_list("bank_id", flat=True))
        else:
            users = bank_staff([application.bank_id])  # type: ignore[list-item]
    elif move == "withdraw":
        if application.officer_id:
            users = [application.officer]  # type: ignore[list-item]
        elif application.kind == ApplicationKind.DEMAND:
            users = bank_staff(application.offers.values_list("bank_id", flat=True))
        else:
            users = bank_staff([application.bank_id])  # type: ignore[list-item]
    else:
        users = enterprise_people(application)
    _send(
        [u for u in users if u.pk != getattr(actor, "pk", None)],
        kind=f"application.{move}",
        title=_title(move, application),
        body=_body(move, application, reason),
        url=reverse("application_detail", args=[application.pk]),
    )


@in_site_language
def escalations(rows: list[Escalation]) -> None:
    """One notice per person per sweep listing the newly late applications: the credit office
    sees them all, each bank's admins their own. (A demand nobody picked up is told by
    `returned_to_pool` instead.)"""
    rows = [
        r
        for r in rows
        if not (r.stage == SlaStage.PICKUP and r.application.kind == ApplicationKind.DEMAND)
    ]
    if not rows:
        return
    url = reverse("application_list") + "?overdue=1"

    def lines(subset: list[Escalation]) -> str:
        return "\n".join(
            _("%(number)s %(enterprise)s：%(stage)s超时（期限 %(due)s）")
            % {
                "number": r.application.number,
                "enterprise": r.application.enterprise.name,
                "stage": r.get_stage_display(),
                "due": f"{r.due:%Y-%m-%d}",
            }
            for r in subset
        )

    _send(
        credit_office(),
        kind="application.overdue",
        title=_("%(n)d 件贷款申请超过服务时限") % {"n": len(rows)},
        body=lines(rows),
        url=url,
    )
    by_bank: dict[int, list[Escalation]] = {}
    for r in rows:
        if r.bank_id:
            by_bank.setdefault(r.bank_id, []).append(r)
    for bank_id, subset in by_bank.items():
        _send(
            bank_staff([bank_id], admins_only=True),
            kind="application.overdue",
            title=_("本行 %(n)d 件贷款申请超过服务时限") % {"n": len(subset)},
            body=lines(subset),
            url=url,
        )


@in_site_language
def returned_to_pool(applications: list[LoanApplication]) -> None:
    """The credit office, the enterprise and the banks it was offered to hear that a demand
    went back to the pool."""
    if not applications:
        return
    _send(
        credit_office(),
        kind="demand.unclaimed",
        title=_("%(n)d 件融资需求超时无人接单，已重新放回抢单池") % {"n": len(applications)},
        body="\n".join(f"{a.number} {a.enterprise.name}" for a in applications),
        url=reverse("application_list") + "?kind=demand&status=submitted",
    )
    for a in applications:
        _send(
            bank_staff(a.offers.values_list("bank_id", flat=True)),
            kind="demand.reoffered",
            title=_("%(what)s仍待接单：%(enterprise)s")
            % {"what": _what(a), "enterprise": a.enterprise.name},
            body=_body("submit", a, ""),
            url=reverse("application_detail", args=[a.pk]),
        )
        _send(
            enterprise_people(a),
            kind="demand.unclaimed",
            title=_("%(what)s暂无银行接单，已重新推送") % {"what": _what(a)},
            body=_("平台已将需求再次推送给符合条件的银行，并告知信用办督促办理。"),
            url=reverse("application_detail", args=[a.pk]),
        )
