"""Online loan applications: submission (terms, joint punishment, eligibility, authorisation)
and the bank's workflow as one table of moves with history."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import GuaranteeMethod, LoanProduct, LoanProductVersion, RepaymentMethod
from banks.products import listed_versions
from enterprises.authorization import (
    authorization_grant,
    authorization_withdraw_for,
    can_grant,
)
from enterprises.models import (
    SCOPE_LEVEL,
    Authorization,
    AuthorizationPurpose,
    AuthorizationScope,
    AuthorizationStatus,
    CreditRecord,
    Enterprise,
    RecordStatus,
)
from enterprises.uscc import CHARSET
from lending import eligibility, invitations, matching, notices, sla
from lending.models import (
    ApplicationEvent,
    ApplicationKind,
    ApplicationStatus,
    DemandOffer,
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
# "contact" (首次联系 and later contacts) is recorded without changing the status.
MOVES: dict[str, tuple[frozenset[str], str, str]] = {
    "accept": (frozenset({A.SUBMITTED}), A.ACCEPTED, "bank"),
    "contact": (frozenset({A.ACCEPTED, A.UNDER_REVIEW}), "", "handler"),
    "start_review": (frozenset({A.ACCEPTED}), A.UNDER_REVIEW, "handler"),
    "approve": (frozenset({A.UNDER_REVIEW}), A.APPROVED, "handler"),
    "reject": (frozenset({A.ACCEPTED, A.UNDER_REVIEW}), A.REJECTED, "handler"),
    "disburse": (frozenset({A.APPROVED}), A.DISBURSED, "handler"),
    "close": (frozenset({A.DISBURSED}), A.CLOSED, "handler"),
    "withdraw": (frozenset({A.SUBMITTED, A.ACCEPTED, A.UNDER_REVIEW}), A.WITHDRAWN, "enterprise"),
}
MAX_RATE = Decimal("36")
# moves that count as the bank's first contact with the enterprise (服务时限「首次联系」)
CONTACT_MOVES = frozenset({"contact", "start_review", "approve", "reject"})


def allowed_moves(application: LoanApplication) -> list[str]:
    return moves.allowed(MOVES, application.status)


def may_move(user: Any, application: LoanApplication, move: str) -> bool:
    """Who may make `move` at all: the enterprise's owners and admins withdraw; any staff of
    the bank accepts; the accepting officer or a bank admin handles the rest."""
    who = MOVES[move][2]
    if who == "enterprise":
        return can_grant(user, application.enterprise)
    membership = bank_membership_of(user)
    if membership is None:
        return False
    if who == "bank" and application.kind == ApplicationKind.DEMAND:
        # any staff of a bank it was offered to (once taken, the status answers 409)
        return application.offers.filter(bank_id=membership.bank_id).exists()
    if membership.bank_id != application.bank_id:
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


def _fitting_authorization(
    enterprise: Enterprise, bank_id: int, needed: str
) -> Authorization | None:
    """An authorisation the enterprise already gave `bank_id` for loan applications that is in
    force and wide enough, or None."""
    now = timezone.now()
    current = [
        a
        for a in Authorization.objects.filter(
            enterprise=enterprise,
            grantee_bank_id=bank_id,
            purpose=AuthorizationPurpose.LOAN_APPLICATION,
            status=AuthorizationStatus.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        if SCOPE_LEVEL[a.scope] >= SCOPE_LEVEL[needed]
    ]
    return max(current, key=lambda a: a.valid_until) if current else None


@dataclass(frozen=True)
class AuthorizationPlan:
    """What submitting will do about the data authorisation of one bank: reuse one in force
    (`existing`) or grant a new one at `scope` — shown to the enterprise before it confirms."""

    bank_id: int
    bank_name: str
    scope: str
    existing: Authorization | None
    products: tuple[int, ...] = ()

    @property
    def needs_grant(self) -> bool:
        return self.existing is None

    @property
    def scope_name(self) -> str:
        return str(AuthorizationScope(self.scope).label)


def plan_for_product(enterprise: Enterprise, version: LoanProductVersion) -> AuthorizationPlan:
    bank = version.product.bank
    return AuthorizationPlan(
        bank_id=bank.pk,
        bank_name=bank.name,
        scope=version.required_scope,
        existing=_fitting_authorization(enterprise, bank.pk, version.required_scope),
        products=(version.product_id,),
    )


def _carry_out(
    plan: AuthorizationPlan, *, actor: Any, enterprise: Enterprise
) -> tuple[Authorization, bool]:
    """(the authorisation, whether it was granted now). The caller confirmed the identity."""
    if plan.existing is not None:
        return plan.existing, False
    granted = authorization_grant(
        actor=actor,
        enterprise=enterprise,
        grantee_bank_id=plan.bank_id,
        scope=plan.scope,
        purpose=AuthorizationPurpose.LOAN_APPLICATION,
        identity_confirmed=True,
    )
    return granted, True


def _confirm_if_granting(
    actor: Any, plans: list[AuthorizationPlan], *, password: str, otp_code: str
) -> None:
    """Re-entering the password (or a code) confirms the new authorisations; an application
    that only reuses authorisations in force needs no confirmation."""
    if any(plan.needs_grant for plan in plans):
        confirm_identity(actor, password=password, otp_code=otp_code)


def granter_enterprise(actor: Any) -> Enterprise:
    from xinyidai.permissions import enterprise_membership_of

    membership = enterprise_membership_of(actor)
    if membership is None or not can_grant(actor, membership.enterprise):
        raise DomainPermissionDenied(
            "not_enterprise_admin",
            _("只有企业的所有者或管理员可以提交贷款申请（需授权银行查询数据）。"),
        )
    return membership.enterprise


def punishment_reason(enterprise: Enterprise) -> tuple[str, list[CreditRecord]]:
    """联合惩戒: the reason an active serious-dishonesty or dishonest-debtor record bars the
    enterprise from applying online ("" when nothing does), and those records."""
    serious = _serious_records(enterprise)
    if not serious:
        return "", []
    kinds = "、".join(sorted({str(r.get_record_type_display()) for r in serious}))
    reason = _("存在有效的%(kinds)s记录，依法实施联合惩戒，不能在线申请贷款。") % {"kinds": kinds}
    return reason, serious


def _punishment_block(
    actor: Any, enterprise: Enterprise, context: str
) -> PunishmentFeedback | None:
    """A submission barred by joint punishment is recorded as punishment feedback for the
    credit office."""
    reason, serious = punishment_reason(enterprise)
    if not serious:
        return None
    return PunishmentFeedback.objects.create(
        enterprise=enterprise,
        context=context,
        records=[r.pk for r in serious],
        detail=reason,
        actor=actor,
    )


def _locked_enterprise(actor: Any) -> Enterprise:
    """The actor's enterprise, its row locked for the submission: two submissions at once by
    the same firm queue here, so the second sees (and reuses) the authorisation the first
    granted instead of granting another."""
    enterprise = granter_enterprise(actor)
    return Enterprise.objects.select_for_update().get(pk=enterprise.pk)


def listed_product(product_id: int) -> LoanProduct:
    product = (
        LoanProduct.objects.select_related("live_version__product__bank", "bank")
        .filter(pk=product_id, listed=True)
        .first()
    )
    if product is None or product.live_version is None:
        raise NotFound("product_not_found", _("产品不存在或未上架"))
    return product


def _start(application: LoanApplication, actor: Any) -> None:
    sla.set_dues(application, sla.dues_from(application.submitted_at))
    application.save()
    ApplicationEvent.objects.create(
        application=application, move="submit", new_status=A.SUBMITTED, actor=actor
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
    enterprise = _locked_enterprise(actor)
    product = listed_product(product_id)
    version = product.live_version
    assert version is not None
    if not purpose.strip():
        raise _field_error("purpose_required", "purpose", _("请填写资金用途"))
    _check_terms(version, amount=amount, term_months=term_months, repayment_method=repayment_method)
    # the refusals first: a barred or ineligible firm is not asked for its password
    blocked = _punishment_block(actor, enterprise, "loan_application")
    if blocked is not None:
        return Submission(application=None, blocked=blocked)
    result = eligibility.check(eligibility.facts_for(enterprise), version)
    if not result.ok:
        raise DomainError(
            "not_eligible",
            _("不满足产品准入条件：%(summary)s") % {"summary": result.summary()},
            detail=result.as_dict(),
        )
    plan = plan_for_product(enterprise, version)
    _confirm_if_granting(actor, [plan], password=password, otp_code=otp_code)
    authorization, _new = _carry_out(plan, actor=actor, enterprise=enterprise)
    application = LoanApplication(
        number=new_number(),
        kind=ApplicationKind.PRODUCT,
        enterprise=enterprise,
        product_version=version,
        bank=product.bank,
        amount=amount,
        term_months=term_months,
        repayment_method=repayment_method,
        purpose=purpose.strip()[:200],
        authorization=authorization,
        submitted_by=actor,
    )
    _start(application, actor)
    invitations.link_application(application)
    notices.application_moved(actor=actor, application=application, move="submit")
    return Submission(application=application)


# ---------------------------------------------------------------------------------------------
# Financing demands (融资需求 / 抢单)
# ---------------------------------------------------------------------------------------------
def _check_demand(amount: Decimal, term_months: int, guarantee: str, purpose: str) -> None:
    if amount <= 0:
        raise _field_error("invalid", "amount", _("请填写大于 0 的金额"))
    if not 1 <= term_months <= 360:
        raise _field_error("term_out_of_range", "term_months", _("期限应在 1 至 360 个月之间"))
    if guarantee and guarantee not in GuaranteeMethod.values:
        raise _field_error("invalid", "preferred_guarantee", _("担保方式无效"))
    if not purpose.strip():
        raise _field_error("purpose_required", "purpose", _("请填写资金用途"))


def demand_plans(
    enterprise: Enterprise, *, amount: Decimal, term_months: int, guarantee: str = ""
) -> list[AuthorizationPlan]:
    """The banks a demand goes to: each bank with a listed product the enterprise qualifies for
    whose amount and term ranges (and guarantee method, if one is preferred) fit the demand.
    Per bank: the widest scope those products need, and an authorisation in force to reuse."""
    facts = eligibility.facts_for(enterprise)
    versions = listed_versions().filter(
        eligibility.sql_prefilter(facts),
        amount_min__lte=amount,
        amount_max__gte=amount,
        term_min__lte=term_months,
        term_max__gte=term_months,
    )
    if guarantee:
        versions = versions.filter(guarantee_index__contains=f",{guarantee},")
    fitting: dict[int, list[LoanProductVersion]] = {}
    for version in versions:
        if eligibility.passes(facts, version):
            fitting.setdefault(version.product.bank_id, []).append(version)
    plans = []
    for bank_id, found in sorted(fitting.items(), key=lambda kv: kv[1][0].product.bank.name):
        scope = max((v.required_scope for v in found), key=SCOPE_LEVEL.__getitem__)
        plans.append(
            AuthorizationPlan(
                bank_id=bank_id,
                bank_name=found[0].product.bank.name,
                scope=scope,
                existing=_fitting_authorization(enterprise, bank_id, scope),
                products=tuple(v.product_id for v in found),
            )
        )
    return plans


@transaction.atomic
def demand_submit(
    *,
    actor: Any,
    amount: Decimal,
    term_months: int,
    purpose: str,
    preferred_guarantee: str = "",
    password: str = "",
    otp_code: str = "",
) -> Submission:
    """Post a financing demand to every eligible bank, authorising each for loan applications
    (one confirmation for all); the first bank to accept it gets it (抢单)."""
    enterprise = _locked_enterprise(actor)
    _check_demand(amount, term_months, preferred_guarantee, purpose)
    blocked = _punishment_block(actor, enterprise, "financing_demand")
    if blocked is not None:
        return Submission(application=None, blocked=blocked)
    plans = demand_plans(
        enterprise, amount=amount, term_months=term_months, guarantee=preferred_guarantee
    )
    if not plans:
        raise DomainError(
            "no_eligible_bank",
            _(
                "暂无银行的上架产品与该需求的金额、期限和担保方式相符且贵企业满足准入条件；"
                "请调整需求，或在金融产品超市查看各产品的准入条件。"
            ),
            detail={"amount": [_("暂无符合条件的银行")]},
        )
    _confirm_if_granting(actor, plans, password=password, otp_code=otp_code)
    application = LoanApplication(
        number=new_number(),
        kind=ApplicationKind.DEMAND,
        enterprise=enterprise,
        amount=amount,
        term_months=term_months,
        preferred_guarantee=preferred_guarantee,
        purpose=purpose.strip()[:200],
        submitted_by=actor,
    )
    _start(application, actor)
    for plan in plans:
        authorization, new = _carry_out(plan, actor=actor, enterprise=enterprise)
        DemandOffer.objects.create(
            application=application,
            bank_id=plan.bank_id,
            authorization=authorization,
            products=list(plan.products),
            granted_for_demand=new,
        )
    notices.application_moved(actor=actor, application=application, move="submit")
    matching.application_changed(application)
    return Submission(application=application)


def _release_offers(application: LoanApplication, *, keep_bank_id: int | None, reason: str) -> None:
    """Revoke the authorisations granted only for this demand, except the accepting bank's."""
    offers = application.offers.filter(granted_for_demand=True)
    if keep_bank_id is not None:
        offers = offers.exclude(bank_id=keep_bank_id)
    for offer in offers:
        authorization_withdraw_for(authorization_id=offer.authorization_id, reason=reason)


def _positive(data: dict[str, Any], name: str, *, limit: Decimal | None = None) -> Decimal:
    value = data.get(name)
    try:
        number = Decimal(str(value))
    except Exception:
        raise _field_error("invalid", name, _("请填写有效的数字")) from None
    if number <= 0 or (limit is not None and number > limit):
        raise _field_error("invalid", name, _("数值超出允许范围"))
    return number


def _disbursed_guarantee(application: LoanApplication, data: dict[str, Any]) -> str:
    """The loan's guarantee method as disbursed: given, or the product's only one."""
    method = str(data.get("disbursed_guarantee_method") or "")
    offered = application.product_version.guarantee_methods if application.product_version else []
    if not method and len(offered) == 1:
        method = offered[0]
    if method not in GuaranteeMethod.values:
        raise _field_error(
            "guarantee_required", "disbursed_guarantee_method", _("请选择放款的担保方式")
        )
    return method


def _apply_move_data(application: LoanApplication, move: str, data: dict[str, Any]) -> None:
    now = timezone.now()
    if move == "approve":
        amount = _positive(data, "approved_amount", limit=application.amount)
        rate = _positive(data, "approved_rate", limit=MAX_RATE)
        term = int(_positive(data, "approved_term_months", limit=Decimal(360)))
        method = data.get("approved_repayment_method") or application.repayment_method
        if method not in RepaymentMethod.values:  # a demand names none: the bank must
            raise _field_error(
                "repayment_required", "approved_repayment_method", _("请选择还款方式")
            )
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
        application.disbursed_guarantee_method = _disbursed_guarantee(application, data)
        application.first_loan = not LoanApplication.objects.filter(
            enterprise_id=application.enterprise_id, disbursed_on__isnull=False
        ).exists()
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
    """One move. Accepting locks the row first: of two officers accepting at once (of one bank,
    or of two banks a demand went to), exactly one wins and the other gets 409 with the
    allowed moves."""
    if move not in MOVES:
        raise NotFound("unknown_move", _("未知操作"))
    application = (
        LoanApplication.objects.select_for_update(of=("self",))
        .select_related("enterprise", "product_version", "bank")
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
    now = timezone.now()
    if move == "accept":
        application.officer, application.accepted_at = actor, now
        if application.kind == ApplicationKind.DEMAND:
            _accept_demand(application, actor)
    if (
        move in {"contact", "start_review", "approve", "reject"}
        and not application.first_contact_at
    ):
        application.first_contact_at = now
    application.status = target or old
    application.save()
    ApplicationEvent.objects.create(
        application=application,
        move=move,
        old_status=old,
        new_status=application.status,
        actor=actor,
        reason=reason[:300],
        at=now,
    )
    if move == "withdraw" and application.kind == ApplicationKind.DEMAND:
        _release_offers(
            application, keep_bank_id=application.bank_id, reason=_("企业撤回了融资需求")
        )
    notices.application_moved(actor=actor, application=application, move=move, reason=reason)
    matching.application_changed(application)
    return application


def _accept_demand(application: LoanApplication, actor: Any) -> None:
    """The accepting bank takes the demand with its authorisation; the authorisations granted
    only for this demand to the other banks are revoked."""
    membership = bank_membership_of(actor)
    assert membership is not None
    offer = application.offers.get(bank_id=membership.bank_id)
    application.bank_id, application.authorization_id = offer.bank_id, offer.authorization_id
    _release_offers(
        application,
        keep_bank_id=offer.bank_id,
        reason=_("融资需求 %(number)s 已由其他银行接单") % {"number": application.number},
    )


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
        # its own, and demands offered to it still waiting in the pool
        offered = DemandOffer.objects.filter(application=OuterRef("pk"), bank_id=bm.bank_id)
        filters |= Q(bank_id=bm.bank_id) | Q(
            Exists(offered), kind=ApplicationKind.DEMAND, status=A.SUBMITTED
        )
    return qs.filter(filters)
