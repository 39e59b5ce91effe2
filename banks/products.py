"""Loan products: a bank drafts, the credit office reviews and publishes, the bank or the office
suspends, resumes and retires. Each publication freezes the terms as a new version; the version
live in the marketplace stays listed while a revision is drafted and reviewed.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import (
    GuaranteeMethod,
    LoanKind,
    LoanProduct,
    LoanProductVersion,
    ProductEvent,
    ProductStatus,
    RepaymentMethod,
)
from enterprises import reference
from enterprises.models import EnterpriseScale
from lending import eligibility
from lending.eligibility import GRADE_ORDER, TAX_GRADE_ORDER
from xinyidai.core import moves
from xinyidai.core.audit import audit
from xinyidai.core.errors import Conflict, DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.core.models import PlatformRole, User
from xinyidai.core.notifications import in_site_language, notify_users
from xinyidai.permissions import Role, bank_membership_of, has_role

S = ProductStatus
# One table of allowed moves: move → (statuses it starts from, status it leads to, who).
MOVES: dict[str, tuple[frozenset[str], str, str]] = {
    "submit": (frozenset({S.DRAFT}), S.PENDING_REVIEW, "bank"),
    "publish": (frozenset({S.PENDING_REVIEW}), S.PUBLISHED, "office"),
    "reject": (frozenset({S.PENDING_REVIEW}), S.DRAFT, "office"),
    "suspend": (frozenset({S.PUBLISHED}), S.SUSPENDED, "bank_admin_or_office"),
    "resume": (frozenset({S.SUSPENDED}), S.PUBLISHED, "bank_admin_or_office"),
    "retire": (
        frozenset({S.DRAFT, S.PENDING_REVIEW, S.PUBLISHED, S.SUSPENDED}),
        S.RETIRED,
        "bank_admin_or_office",
    ),
}
EDITABLE = frozenset({S.DRAFT, S.PUBLISHED})
MAX_RATE = Decimal("36")
MAX_TERM_MONTHS = 360


def allowed_moves(product: LoanProduct) -> list[str]:
    return moves.allowed(MOVES, product.status)


def _staff_of(user: Any, product_bank_id: int) -> bool:
    membership = bank_membership_of(user)
    return membership is not None and membership.bank_id == product_bank_id


def _may(user: Any, who: str, product: LoanProduct) -> bool:
    office = has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)
    membership = bank_membership_of(user)
    own_bank = membership is not None and membership.bank_id == product.bank_id
    if who == "bank":
        return own_bank
    if who == "office":
        return office
    return office or (own_bank and membership is not None and membership.role == "admin")


def _choice_list(
    name: str, values: Any, allowed: set[str], errors: dict[str, list[str]]
) -> list[str]:
    if values in (None, ""):
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors.setdefault(name, []).append(_("应为代码列表"))
        return []
    wrong = [v for v in values if v not in allowed]
    if wrong:
        errors.setdefault(name, []).append(
            _("无效的取值：%(values)s") % {"values": "、".join(wrong)}
        )
    return list(dict.fromkeys(values))


def clean_terms(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete set of terms; every fault is reported with its field."""
    errors: dict[str, list[str]] = {}
    terms = dict(data)

    def need(name: str) -> Any:
        value = terms.get(name)
        if value in (None, "", []):
            errors.setdefault(name, []).append(_("必填"))
        return value

    for name in ("name", "kind", "amount_min", "amount_max", "rate_min", "rate_max"):
        need(name)
    for name in ("term_min", "term_max"):
        need(name)
    if terms.get("kind") and terms["kind"] not in LoanKind.values:
        errors.setdefault("kind", []).append(_("无效的产品类型"))
    terms["guarantee_methods"] = _choice_list(
        "guarantee_methods", terms.get("guarantee_methods"), set(GuaranteeMethod.values), errors
    )
    if not terms["guarantee_methods"]:
        errors.setdefault("guarantee_methods", []).append(_("至少选择一种担保方式"))
    terms["repayment_methods"] = _choice_list(
        "repayment_methods", terms.get("repayment_methods"), set(RepaymentMethod.values), errors
    )
    if not terms["repayment_methods"]:
        errors.setdefault("repayment_methods", []).append(_("至少选择一种还款方式"))
    terms["industries"] = _choice_list(
        "industries", terms.get("industries"), set(reference.INDUSTRY_SECTIONS), errors
    )
    terms["towns"] = _choice_list("towns", terms.get("towns"), set(reference.TOWN_NAMES), errors)
    terms["scales"] = _choice_list(
        "scales", terms.get("scales"), set(EnterpriseScale.values), errors
    )
    if terms.get("min_grade") and terms["min_grade"] not in GRADE_ORDER:
        errors.setdefault("min_grade", []).append(_("信用等级应为 A、B、C 或 D"))
    if terms.get("min_tax_grade") and terms["min_tax_grade"] not in TAX_GRADE_ORDER:
        errors.setdefault("min_tax_grade", []).append(_("纳税信用等级应为 A、B、M、C 或 D"))
    lo, hi = terms.get("amount_min"), terms.get("amount_max")
    if lo is not None and hi is not None and lo not in ("",) and hi not in ("",):
        lo, hi = Decimal(lo), Decimal(hi)
        if lo <= 0:
            errors.setdefault("amount_min", []).append(_("额度应大于 0"))
        if hi < lo:
            errors.setdefault("amount_max", []).append(_("最高额度不能低于最低额度"))
    lo, hi = terms.get("rate_min"), terms.get("rate_max")
    if lo not in (None, "") and hi not in (None, ""):
        lo, hi = Decimal(lo), Decimal(hi)
        if lo <= 0 or hi > MAX_RATE:
            errors.setdefault("rate_min", []).append(
                _("年利率应在 0 到 %(max)s%% 之间") % {"max": MAX_RATE}
            )
        if hi < lo:
            errors.setdefault("rate_max", []).append(_("最高利率不能低于最低利率"))
    lo, hi = terms.get("term_min"), terms.get("term_max")
    if lo not in (None, "") and hi not in (None, ""):
        if not 1 <= int(lo) <= MAX_TERM_MONTHS or not 1 <= int(hi) <= MAX_TERM_MONTHS:
            errors.setdefault("term_min", []).append(
                _("期限应在 1 到 %(max)d 个月之间") % {"max": MAX_TERM_MONTHS}
            )
        if int(hi) < int(lo):
            errors.setdefault("term_max", []).append(_("最长期限不能短于最短期限"))
    if errors:
        name, messages = next(iter(errors.items()))
        label = getattr(LoanProduct._meta.get_field(name), "verbose_name", name)
        raise DomainError(
            "invalid_terms",
            _("产品条款有误：%(field)s：%(message)s") % {"field": label, "message": messages[0]},
            detail=errors,
        )
    return terms


@transaction.atomic
def product_create(*, actor: Any, code: str, terms: dict[str, Any]) -> LoanProduct:
    membership = bank_membership_of(actor)
    if membership is None:
        raise DomainPermissionDenied("not_bank_staff", _("只有银行工作人员可以创建贷款产品。"))
    code = code.strip()
    if not code:
        raise DomainError("invalid_terms", _("产品编码必填"), detail={"code": [_("必填")]})
    if LoanProduct.objects.filter(bank_id=membership.bank_id, code=code).exists():
        raise Conflict(
            "product_code_taken",
            _("本行已有编码为 %(code)s 的产品") % {"code": code},
            detail={"code": [_("编码已被使用")]},
        )
    fields = {k: v for k, v in clean_terms(terms).items() if k in LoanProduct.TERM_FIELDS}
    product = LoanProduct.objects.create(
        bank_id=membership.bank_id, code=code, created_by=actor, **fields
    )
    audit(actor=actor, action="product.create", obj=product, data={"code": code})
    return product


def _locked(product_id: int) -> LoanProduct:
    product = LoanProduct.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("product_not_found", _("产品不存在"))
    return product


@transaction.atomic
def product_update(*, actor: Any, product_id: int, terms: dict[str, Any]) -> LoanProduct:
    """Change the working copy. Editing a published product starts a revision (status draft);
    its live version stays listed until the revision is published."""
    product = _locked(product_id)
    if not _staff_of(actor, product.bank_id):
        raise DomainPermissionDenied("not_bank_staff", _("只能修改本行的产品。"))
    if product.status not in EDITABLE:
        raise Conflict(
            "not_editable",
            _("产品状态为「%(status)s」，不能修改。") % {"status": product.get_status_display()},
            detail={"status": product.status, "allowed": allowed_moves(product)},
        )
    merged = {**product.terms(), **terms}
    fields = {k: v for k, v in clean_terms(merged).items() if k in LoanProduct.TERM_FIELDS}
    old = product.status
    for name, value in fields.items():
        setattr(product, name, value)
    product.status = S.DRAFT
    product.updated_at = timezone.now()
    product.save()
    if old != S.DRAFT:
        ProductEvent.objects.create(
            product=product, move="revise", old_status=old, new_status=S.DRAFT, actor=actor
        )
    return product


@transaction.atomic
def product_move(*, actor: Any, product_id: int, move: str, reason: str = "") -> LoanProduct:
    if move not in MOVES:
        raise NotFound("unknown_move", _("未知操作"))
    product = _locked(product_id)
    _sources, target, who = MOVES[move]
    if not _may(actor, who, product):
        raise DomainPermissionDenied("move_forbidden", _("您无权对该产品执行此操作。"))
    moves.require(
        MOVES,
        move,
        product.status,
        _("产品状态为「%(status)s」，不能执行该操作。") % {"status": product.get_status_display()},
    )
    if move == "reject" and not reason.strip():
        raise DomainError("reason_required", _("退回须说明原因。"), detail={"reason": [_("必填")]})
    old = product.status
    version = None
    if move == "publish":
        number = (
            product.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        version = LoanProductVersion.objects.create(
            product=product,
            number=number,
            published_by=actor,
            **{f: getattr(product, f) for f in LoanProduct.TERM_FIELDS},
        )
        product.live_version = version
    product.status = target
    product.listed = target == S.PUBLISHED and product.live_version_id is not None
    if move in ("reject", "publish"):
        product.review_note = reason[:300]
    # a revision in draft or review keeps the live version listed
    if target in (S.DRAFT, S.PENDING_REVIEW) and product.live_version_id is not None:
        product.listed = True
    product.updated_at = timezone.now()
    product.save()
    ProductEvent.objects.create(
        product=product,
        move=move,
        old_status=old,
        new_status=target,
        version=version,
        actor=actor,
        reason=reason[:300],
    )
    audit(actor=actor, action=f"product.{move}", obj=product, data={"from": old, "to": target})
    _notify_move(actor=actor, product=product, move=move, reason=reason)
    return product


def _move_notice(move: str, bank: str, name: str) -> tuple[str, str]:
    """(kind, title) of the in-app notice for a move."""
    names = {"bank": bank, "name": name}
    if move == "submit":
        return "product.submitted", _("新产品待审核：%(bank)s %(name)s") % names
    if move == "publish":
        return "product.published", _("产品已发布：%(name)s") % names
    if move == "reject":
        return "product.rejected", _("产品被退回：%(name)s") % names
    if move == "suspend":
        return "product.suspended", _("产品已暂停：%(name)s") % names
    if move == "resume":
        return "product.resumed", _("产品已恢复：%(name)s") % names
    return "product.retired", _("产品已下架：%(name)s") % names


@in_site_language
def _notify_move(*, actor: Any, product: LoanProduct, move: str, reason: str) -> None:
    """A submission goes to the credit office; the office's moves go to the bank's staff. The
    actor is never told of their own move."""
    if move == "submit":
        users = User.objects.filter(platform_role=PlatformRole.CREDIT_OFFICE, is_active=True)
    elif not _staff_of(actor, product.bank_id):
        users = User.objects.filter(bank_membership__bank_id=product.bank_id, is_active=True)
    else:
        return
    kind, title = _move_notice(move, product.bank.name, product.name)
    reason = reason.strip()
    if move == "reject":
        body = _("退回原因：%(reason)s") % {"reason": reason}
    elif reason:
        body = _("说明：%(reason)s") % {"reason": reason}
    else:
        body = ""
    notify_users(
        users=users.exclude(pk=actor.pk),
        kind=kind,
        title=title,
        body=body,
        url=reverse("product_manage_detail", args=[product.pk]),
    )


def can_move(user: Any, product: LoanProduct, move: str) -> bool:
    """Whether `user` may make `move` on `product` at all (buttons; the status is checked on
    the move itself)."""
    return move in MOVES and _may(user, MOVES[move][2], product)


def only_eligible(qs: Any, facts: eligibility.EnterpriseFacts) -> Any:
    """The products an enterprise qualifies for: the SQL prefilter, then the rules on plain
    rows, then a query for those ids (so only the page's products are fetched)."""
    rows = qs.filter(eligibility.sql_prefilter(facts)).values("id", *eligibility.CONDITION_FIELDS)
    ok = [row["id"] for row in rows if eligibility.passes(facts, SimpleNamespace(**row))]
    return qs.filter(id__in=ok)


def listed_versions() -> Any:
    """The marketplace: the live version of every listed product (never a working copy)."""
    return (
        LoanProductVersion.objects.filter(product__listed=True, product__live_version=F("pk"))
        .select_related("product__bank")
        .order_by("rate_min", "-amount_max", "id")
    )
