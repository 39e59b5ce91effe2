"""Pages of loan products: the public marketplace (金融产品超市), and the banks' and the credit
office's management and review of products."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from banks import products as services
from banks.api.products import market_queryset
from banks.models import (
    GuaranteeMethod,
    LoanProduct,
    ProductStatus,
    ProductTerms,
    RepaymentMethod,
)
from banks.product_forms import (
    MarketFilterForm,
    MoveForm,
    ProductForm,
    ProductManageFilter,
    show_terms_error,
)
from enterprises import reference
from enterprises.authorization_forms import show_domain_error
from enterprises.models import EnterpriseScale
from lending import eligibility
from xinyidai.core.csvexport import csv_response
from xinyidai.core.errors import DomainError
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import (
    BANK_ROLES,
    Role,
    bank_membership_of,
    enterprise_membership_of,
    has_role,
    products_managed_by,
    role_required,
)

MARKET_PAGE_SIZE = 20
MANAGE_PAGE_SIZE = 25
MANAGER_ROLES = (*BANK_ROLES, Role.CREDIT_OFFICE, Role.SUPERUSER)
WAN = Decimal(10000)
CENTS = Decimal("0.01")

MOVE_LABELS = {
    "submit": gettext_lazy("提交审核"),
    "publish": gettext_lazy("审核通过并发布"),
    "reject": gettext_lazy("退回修改"),
    "suspend": gettext_lazy("暂停展示"),
    "resume": gettext_lazy("恢复展示"),
    "retire": gettext_lazy("下架"),
    "revise": gettext_lazy("修改已发布产品"),
}
MOVE_DONE = {
    "submit": gettext_lazy("已提交信用办审核。"),
    "publish": gettext_lazy("已发布，产品超市展示新版本。"),
    "reject": gettext_lazy("已退回银行修改。"),
    "suspend": gettext_lazy("已暂停，产品超市不再展示该产品。"),
    "resume": gettext_lazy("已恢复，产品超市重新展示该产品。"),
    "retire": gettext_lazy("已下架。"),
}
# a reason is asked for these moves (required for reject, optional otherwise)
MOVES_WITH_REASON = frozenset({"reject", "suspend", "retire"})
PRODUCT_CSV_HEADER = [
    "code",
    "name",
    "bank",
    "status",
    "kind",
    "amount_min",
    "amount_max",
    "rate_min",
    "rate_max",
    "term_min",
    "term_max",
    "live_version",
    "listed",
    "updated_at",
]


# ---------------------------------------------------------------------------------------------
# How terms read on a page
# ---------------------------------------------------------------------------------------------
def _plain(value: Decimal) -> str:
    """3.4500 → "3.45", 300.00 → "300" (never "3E+2")."""
    return f"{value.normalize():f}"


def wan(amount: Decimal) -> str:
    """An amount in 元 as 万元, to the cent of a 万 at most: 3000000 → "300"."""
    return _plain((Decimal(amount) / WAN).quantize(CENTS, ROUND_HALF_UP))


def _span(low: str, high: str, unit: str) -> str:
    return f"{low} {unit}" if low == high else f"{low}–{high} {unit}"


def _names(codes: list[str], names: dict[str, Any]) -> str:
    return "、".join(str(names.get(code, code)) for code in codes)


def shown(terms: ProductTerms) -> dict[str, str]:
    """The ranges and names a product card and a product page show."""
    return {
        "amount": _span(wan(terms.amount_min), wan(terms.amount_max), _("万元")),
        "rate": _span(_plain(terms.rate_min), _plain(terms.rate_max), "%"),
        "term": _span(str(terms.term_min), str(terms.term_max), _("个月")),
        "guarantees": _names(terms.guarantee_methods, dict(GuaranteeMethod.choices)),
        "repayments": _names(terms.repayment_methods, dict(RepaymentMethod.choices)),
    }


def conditions(
    terms: ProductTerms, result: eligibility.Eligibility | None = None
) -> list[dict[str, Any]]:
    """The product's eligibility conditions (准入条件) in words; with an enterprise's `result`,
    each also says whether it is met (the codes are those of `eligibility.check`)."""
    rows: list[tuple[str, str, str]] = []
    if terms.min_grade:
        rows.append(("min_grade", _("信用等级"), _("%(g)s 级及以上") % {"g": terms.min_grade}))
    if terms.industries:
        rows.append(
            ("industries", _("行业"), _names(terms.industries, reference.INDUSTRY_SECTIONS))
        )
    if terms.towns:
        rows.append(("towns", _("镇街"), _names(terms.towns, reference.TOWN_NAMES)))
    if terms.min_years:
        rows.append(("min_years", _("成立年限"), _("满 %(n)d 年") % {"n": terms.min_years}))
    if terms.scales:
        rows.append(("scales", _("企业规模"), _names(terms.scales, dict(EnterpriseScale.choices))))
    if terms.min_tax_grade:
        rows.append(
            (
                "min_tax_grade",
                _("纳税信用等级"),
                _("%(g)s 级及以上") % {"g": terms.min_tax_grade},
            )
        )
    if terms.no_serious_record:
        rows.append(("no_serious_record", _("失信记录"), _("无有效的失信被执行人或严重失信记录")))
    if terms.min_registered_capital:
        rows.append(
            (
                "min_registered_capital",
                _("注册资本"),
                _("%(wan)s 万元及以上") % {"wan": wan(terms.min_registered_capital)},
            )
        )
    checked = {c.code: c for c in result.conditions} if result else {}
    return [
        {
            "code": code,
            "label": label,
            "value": value,
            "ok": checked[code].ok if code in checked else None,
            "failure": checked[code].failure if code in checked else "",
        }
        for code, label, value in rows
    ]


def _facts(request: HttpRequest) -> eligibility.EnterpriseFacts | None:
    """The signed-in enterprise's facts, read once per page."""
    membership = enterprise_membership_of(request.user)
    return eligibility.facts_for(membership.enterprise) if membership else None


# ---------------------------------------------------------------------------------------------
# The marketplace (public)
# ---------------------------------------------------------------------------------------------
def market(request: HttpRequest) -> HttpResponse:
    facts = _facts(request)
    form = MarketFilterForm(request.GET, enterprise_user=facts is not None)
    versions: Any = []
    if form.is_valid():
        try:
            versions = market_queryset(form.query())
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            if facts and form.cleaned_data.get("eligible"):
                versions = services.only_eligible(versions, facts)
    page = Paginator(versions, MARKET_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [
        {
            "version": version,
            "shown": shown(version),
            "eligibility": eligibility.check(facts, version) if facts else None,
        }
        for version in page
    ]
    return render(
        request,
        "banks/market.html",
        {
            "form": form,
            "page": page,
            "cards": cards,
            "filtered": form.active(),
            "enterprise_user": facts is not None,
        },
    )


def market_product(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(services.listed_versions(), product_id=pk)
    facts = _facts(request)
    result = eligibility.check(facts, version) if facts else None
    return render(
        request,
        "banks/market_product.html",
        {
            "version": version,
            "shown": shown(version),
            "conditions": conditions(version, result),
            "eligibility": result,
        },
    )


# ---------------------------------------------------------------------------------------------
# Management: a bank's products, the office's review queue
# ---------------------------------------------------------------------------------------------
def _is_office(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)


def _own_bank(user: Any, product: LoanProduct) -> bool:
    membership = bank_membership_of(user)
    return membership is not None and membership.bank_id == product.bank_id


def moves_for(user: Any, product: LoanProduct) -> list[str]:
    """The moves the product's status allows and this user may do: the buttons to show."""
    return [
        move for move in services.allowed_moves(product) if services.can_move(user, product, move)
    ]


def product_csv_rows(qs: QuerySet[LoanProduct]) -> Iterator[list[Any]]:
    for p in qs.iterator(chunk_size=2000):
        yield [
            p.code,
            p.name,
            p.bank.name,
            p.status,
            p.kind,
            p.amount_min,
            p.amount_max,
            p.rate_min,
            p.rate_max,
            p.term_min,
            p.term_max,
            p.live_version.number if p.live_version else "",
            "1" if p.listed else "0",
            timezone.localtime(p.updated_at).strftime("%Y-%m-%d %H:%M:%S"),
        ]


@role_required(*MANAGER_ROLES)
def product_manage_list(request: AuthedRequest) -> HttpResponseBase:
    office = _is_office(request.user)
    data = request.GET.copy()
    if office and "status" not in data:
        data["status"] = ProductStatus.PENDING_REVIEW  # the office's review queue
    form = ProductManageFilter(data)
    qs = products_managed_by(request.user).order_by("-updated_at", "-id")
    if form.is_valid():
        if status := form.cleaned_data["status"]:
            qs = qs.filter(status=status)
        if q := form.cleaned_data["q"].strip():
            qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    else:
        qs = qs.none()
    if request.GET.get("export") == "csv":
        return csv_response(
            f"products-{timezone.localdate():%Y%m%d}.csv", PRODUCT_CSV_HEADER, product_csv_rows(qs)
        )
    return render(
        request,
        "banks/product_list.html",
        {
            "form": form,
            "page": Paginator(qs, MANAGE_PAGE_SIZE).get_page(request.GET.get("page")),
            "office": office,
            "can_create": bank_membership_of(request.user) is not None,
        },
    )


@role_required(*BANK_ROLES)
def product_create(request: AuthedRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(
                actor=request.user, code=form.cleaned_data["code"], terms=form.terms()
            )
        except DomainError as exc:
            show_terms_error(form, exc)
        else:
            messages.success(
                request,
                _("产品 %(code)s 已保存为草稿，提交审核后由信用办发布。") % {"code": product.code},
            )
            return redirect("product_manage_detail", product.pk)
    return render(request, "banks/product_form.html", {"form": form, "product": None})


@role_required(*BANK_ROLES)
def product_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(products_managed_by(request.user), pk=pk)
    form = ProductForm(request.POST or None, initial=product.terms(), with_code=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(actor=request.user, product_id=pk, terms=form.terms())
        except DomainError as exc:
            show_terms_error(form, exc)
        else:
            messages.success(request, _("修改已保存为草稿，提交审核通过后生效。"))
            return redirect("product_manage_detail", pk)
    return render(
        request,
        "banks/product_form.html",
        {
            "form": form,
            "product": product,
            "editable": product.status in services.EDITABLE,
            "revising_live": product.live_version_id is not None,
        },
    )


@role_required(*MANAGER_ROLES)
def product_manage_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(products_managed_by(request.user), pk=pk)
    moves = moves_for(request.user, product)
    return render(
        request,
        "banks/product_detail.html",
        {
            "product": product,
            "shown": shown(product),
            "conditions": conditions(product),
            "events": [
                {"event": event, "label": MOVE_LABELS.get(event.move, event.move)}
                for event in product.events.select_related("actor", "version").order_by("at", "id")
            ],
            "moves": [
                {"move": move, "label": MOVE_LABELS[move], "with_reason": move in MOVES_WITH_REASON}
                for move in moves
            ],
            "can_edit": _own_bank(request.user, product) and product.status in services.EDITABLE,
            "can_match": _own_bank(request.user, product) and product.listed,
            "revising": product.live_version_id is not None
            and product.status in (ProductStatus.DRAFT, ProductStatus.PENDING_REVIEW),
        },
    )


@role_required(*MANAGER_ROLES)
@require_POST
def product_move(request: AuthedRequest, pk: int, move: str) -> HttpResponse:
    if move not in services.MOVES:
        raise Http404
    get_object_or_404(products_managed_by(request.user), pk=pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("product_manage_detail", pk)
    try:
        services.product_move(
            actor=request.user, product_id=pk, move=move, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(MOVE_DONE[move]))
    return redirect("product_manage_detail", pk)
