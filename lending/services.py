"""Online loan applications: submission (terms, joint punishment, eligibility, authorisation)
and the bank's workflow as one table of moves with history."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import LoanProduct, LoanProductVersion
from enterprises.authorization import authorization_grant, can_grant
from enterprises.models import (
    SCOPE_LEVEL,
    Authorization,
    AuthorizationPurpose,
    AuthorizationStatus,
    CreditRecord,
    Enterprise,
    RecordStatus,
)
from enterprises.uscc import CHARSET
from lending import eligibility
from lending.models import (
    ApplicationEvent,
    ApplicationStatus,
    LoanApplication,
    PunishmentFeedback,
    RejectReason,
)
from xinyidai.core import moves
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.core.reauth import confirm_identity
from xinyidai.permissions import bank_membership_of

A = ApplicationStatus
# One table of allowed moves: move → (statuses it starts from, status it leads to, who).
MOVES: dict[str, tuple[frozenset[str], str, str]] = {
    "accept": (frozenset({A.SUBMITTED}), A.ACCEPTED, "bank"),
    "start_review": (frozenset({A.ACCEPTED}), A.UNDER_REVIEW, "handler"),
    "approve": (frozenset({A.UNDER_REVIEW}), A.APPROVED, "handler"),
    "reject": (frozenset({A.ACCEPTED, A.UNDER_REVIEW}), A.REJECTED, "handler"),
    "disburse": (frozenset({A.APPROVED}), A.DISBURSED, "handler"),
    "close": (frozenset({A.DISBURSED}), A.CLOSED, "handler"),
    "withdraw": (frozenset({A.SUBMITTED, A.ACCEPTED, A.UNDER_REVIEW}), A.WITHDRAWN, "enterprise"),
}
MAX_RATE = Decimal("36")


def allowed_moves(application: LoanApplication) -> list[str]:
    return moves.allowed(MOVES, application.status)


def may_move(user: Any, application: LoanApplication, move: str) -> bool:
    """Who may make `move` at all: the enterprise's owners and admins withdraw; any staff of
    the bank accepts; the accepting officer or a bank admin handles the rest."""
    who = MOVES[move][2]
    if who == "enterprise":
        return can_grant(user, application.enterprise)
    membership = bank_membership_of(user)
    if membership is None or membership.bank_id != application.bank_id:
        return False
    if who == "bank":
        return True
    return membership.role == "admin" or application.officer_id == user.pk


def new_number(today: date | None = None) -> str:
    day = today or timezone.localdate()
    return f"DK{day:%Y%m%d}-" + "".join(secrets.choice(CHARSET) for _ in range(8))


@dataclass(frozen=True)
class Submission:
    application: LoanApplication | None
    blocked: PunishmentFeedback | None = None


def _field_error(code: str, field: str, message: str) -> DomainError:
    return DomainError(code, message, detail={field: [message]})


def _check_terms(
    version: LoanProductVersion, *, amount: Decimal, term_months: int, repayment_method: str
) -> None:
    if not version.amount_min <= amount <= version.amount_max:
        raise _field_error(
            "amount_out_of_range",
            "amount",
            _("申请金额应在 %(lo)s 至 %(hi)s 元之间")
            % {"lo": version.amount_min, "hi": version.amount_max},
        )
    if not version.term_min <= term_months <= version.term_max:
        raise _field_error(
            "term_out_of_range",
            "term_months",
            _("申请期限应在 %(lo)d 至 %(hi)d 个月之间")
            % {"lo": version.term_min, "hi": version.term_max},
        )
    if repayment_method not in version.repayment_methods:
        raise _field_error(
            "repayment_not_offered", "repayment_method", _("该产品不提供所选还款方式")
        )


def _serious_records(enterprise: Enterprise) -> list[CreditRecord]:
    return list(
        CreditRecord.objects.filter(
            enterprise=enterprise,
            status=RecordStatus.ACTIVE,
            record_type__in=eligibility.SERIOUS_TYPES,
        ).order_by("-decision_date", "-id")
    )


def _authorization_for(
    *, actor: Any, enterprise: Enterprise, version: LoanProductVersion, password: str, otp: str
) -> Authorization:
    """The bank's authorisation for this application: an active one that fits, or a new one."""
    now = timezone.now()
    needed = version.required_scope
    current = [
        a
        for a in Authorization.objects.filter(
            enterprise=enterprise,
            grantee_bank_id=version.product.bank_id,
            purpose=AuthorizationPurpose.LOAN_APPLICATION,
            status=AuthorizationStatus.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        if SCOPE_LEVEL[a.scope] >= SCOPE_LEVEL[needed]
    ]
    if current:
        return max(current, key=lambda a: a.valid_until)
    return authorization_grant(
        actor=actor,
        enterprise=enterprise,
        grantee_bank_id=version.product.bank_id,
        scope=needed,
        purpose=AuthorizationPurpose.LOAN_APPLICATION,
        password=password,
        otp_code=otp,
    )


@transaction.atomic
def application_submit(
    *,
    actor: Any,
    product_id: int,
    amount: Decimal,
    term_months: int,
    repayment_method: str,
    purpose: str,
    password: str = "",
    otp_code: str = "",
) -> Submission:
    """Apply to a product's live version. A joint-punishment block is not an error to roll
    back: it is recorded as feedback and returned, so the caller can show the reason."""
    from xinyidai.permissions import enterprise_membership_of

    membership = enterprise_membership_of(actor)
    if membership is None or not can_grant(actor, membership.enterprise):
        raise DomainPermissionDenied(
            "not_enterprise_admin",
            _("只有企业的所有者或管理员可以提交贷款申请（需授权银行查询数据）。"),
        )
    enterprise = membership.enterprise
    product = (
        LoanProduct.objects.select_related("live_version", "bank")
        .filter(pk=product_id, listed=True)
        .first()
    )
    if product is None or product.live_version is None:
        raise NotFound("product_not_found", _("产品不存在或未上架"))
    version = product.live_version
    if not purpose.strip():
        raise _field_error("purpose_required", "purpose", _("请填写资金用途"))
    _check_terms(version, amount=amount, term_months=term_months, repayment_method=repayment_method)
    confirm_identity(actor, password=password, otp_code=otp_code)
    serious = _serious_records(enterprise)
    if serious:
        kinds = "、".join(sorted({str(r.get_record_type_display()) for r in serious}))
        feedback = PunishmentFeedback.objects.create(
            enterprise=enterprise,
            context="loan_application",
            records=[r.pk for r in serious],
            detail=_("存在有效的%(kinds)s记录，依法实施联合惩戒，不能在线申请贷款。")
            % {"kinds": kinds},
            actor=actor,
        )
        return Submission(application=None, blocked=feedback)
    result = eligibility.check(eligibility.facts_for(enterprise), version)
    if not result.ok:
        raise DomainError(
            "not_eligible",
            _("不满足产品准入条件：%(summary)s") % {"summary": result.summary()},
            detail=result.as_dict(),
        )
    authorization = _authorization_for(
        actor=actor, enterprise=enterprise, version=version, password=password, otp=otp_code
    )
    application = LoanApplication.objects.create(
        number=new_number(),
        enterprise=enterprise,
        product_version=version,
        bank_id=product.bank_id,
        amount=amount,
        term_months=term_months,
        repayment_method=repayment_method,
        purpose=purpose.strip()[:200],
        authorization=authorization,
        submitted_by=actor,
    )
    ApplicationEvent.objects.create(
        application=application, move="submit", new_status=A.SUBMITTED, actor=actor
    )
    return Submission(application=application)


def _positive(data: dict[str, Any], name: str, *, limit: Decimal | None = None) -> Decimal:
    value = data.get(name)
    try:
        number = Decimal(str(value))
    except Exception:
        raise _field_error("invalid", name, _("请填写有效的数字")) from None
    if number <= 0 or (limit is not None and number > limit):
        raise _field_error("invalid", name, _("数值超出允许范围"))
    return number


def _apply_move_data(application: LoanApplication, move: str, data: dict[str, Any]) -> None:
    now = timezone.now()
    if move == "approve":
        amount = _positive(data, "approved_amount", limit=application.amount)
        rate = _positive(data, "approved_rate", limit=MAX_RATE)
        term = int(_positive(data, "approved_term_months", limit=Decimal(360)))
        method = data.get("approved_repayment_method") or application.repayment_method
        application.approved_amount, application.approved_rate = amount, rate
        application.approved_term_months, application.approved_repayment_method = term, method
        application.decided_at = now
    elif move == "reject":
        code = data.get("reject_reason", "")
        if code not in RejectReason.values:
            raise _field_error("reason_required", "reject_reason", _("请选择拒绝原因"))
        application.reject_reason, application.reject_note = code, str(data.get("reason", ""))[:300]
        application.decided_at = now
    elif move == "disburse":
        limit = application.approved_amount or application.amount
        application.disbursed_amount = _positive(data, "disbursed_amount", limit=limit)
        application.disbursed_rate = _positive(data, "disbursed_rate", limit=MAX_RATE)
        contract = str(data.get("contract_number", "")).strip()
        if not contract:
            raise _field_error("contract_required", "contract_number", _("请填写合同编号"))
        disbursed_on = data.get("disbursed_on") or timezone.localdate()
        application.disbursed_on = (
            date.fromisoformat(disbursed_on) if isinstance(disbursed_on, str) else disbursed_on
        )
        application.contract_number = contract[:64]
        application.guarantee_party = str(data.get("guarantee_party", ""))[:200]


@transaction.atomic
def application_move(
    *, actor: Any, application_id: int, move: str, reason: str = "", **data: Any
) -> LoanApplication:
    """One move. Accepting locks the row first: of two officers accepting at once, exactly one
    wins and the other gets 409 with the allowed moves."""
    if move not in MOVES:
        raise NotFound("unknown_move", _("未知操作"))
    application = (
        LoanApplication.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound("application_not_found", _("申请不存在"))
    _sources, target, _who = MOVES[move]
    if not may_move(actor, application, move):
        raise DomainPermissionDenied("move_forbidden", _("您无权对该申请执行此操作。"))
    moves.require(
        MOVES,
        move,
        application.status,
        _("申请状态为「%(status)s」，不能执行该操作。")
        % {"status": application.get_status_display()},
    )
    _apply_move_data(application, move, {**data, "reason": reason})
    old = application.status
    if move == "accept":
        application.officer, application.accepted_at = actor, timezone.now()
    application.status = target
    application.save()
    ApplicationEvent.objects.create(
        application=application,
        move=move,
        old_status=old,
        new_status=target,
        actor=actor,
        reason=reason[:300],
    )
    return application


def applications_visible_to(user: Any) -> Any:
    """An enterprise its own applications; a bank those made to it; the office all."""
    from xinyidai.permissions import Role, enterprise_membership_of, has_role

    qs = LoanApplication.objects.select_related("enterprise", "bank", "product_version")
    if has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        return qs
    filters = Q(pk__in=[])
    if em := enterprise_membership_of(user):
        filters |= Q(enterprise_id=em.enterprise_id)
    if bm := bank_membership_of(user):
        filters |= Q(bank_id=bm.bank_id)
    return qs.filter(filters)
