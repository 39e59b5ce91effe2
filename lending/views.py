"""Pages of loan applications and financing demands: the enterprise applies and follows its
applications; bank officers pick up and handle them; the credit office watches service levels
and joint-punishment feedback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from banks.product_views import conditions, shown
from enterprises.authorization import can_grant
from enterprises.authorization_forms import show_domain_error
from lending import eligibility, services, sla
from lending.forms import MOVE_FORMS, ApplicationFilter, ApplyForm, DemandForm
from lending.models import (
    ApplicationKind,
    ApplicationStatus,
    LoanApplication,
    PunishmentFeedback,
    SlaStage,
)
from xinyidai.core.csvexport import csv_response, local_iso
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import (
    BANK_ROLES,
    ENTERPRISE_ROLES,
    Role,
    bank_membership_of,
    enterprise_membership_of,
    has_role,
    role_required,
)

PAGE_SIZE = 25
OFFICE = (Role.CREDIT_OFFICE, Role.SUPERUSER)
LIST_ROLES = (*ENTERPRISE_ROLES, *BANK_ROLES, *OFFICE)

MOVE_LABELS = {
    "accept": gettext_lazy("接单"),
    "contact": gettext_lazy("记录联系"),
    "start_review": gettext_lazy("开始审批"),
    "approve": gettext_lazy("批准"),
    "reject": gettext_lazy("拒绝"),
    "disburse": gettext_lazy("放款反馈"),
    "close": gettext_lazy("结清"),
    "withdraw": gettext_lazy("撤回申请"),
    "submit": gettext_lazy("提交"),
    "return_to_pool": gettext_lazy("重新放回抢单池"),
}
MOVE_DONE = {
    "accept": gettext_lazy("已接单，请在时限内联系企业。"),
    "contact": gettext_lazy("已记录联系情况。"),
    "start_review": gettext_lazy("已进入审批。"),
    "approve": gettext_lazy("已批准，企业已收到通知。"),
    "reject": gettext_lazy("已拒绝，企业已收到原因。"),
    "disburse": gettext_lazy("已登记放款。"),
    "close": gettext_lazy("已结清。"),
    "withdraw": gettext_lazy("申请已撤回。"),
}
# moves that could hurt if pressed by mistake: the button asks again
CONFIRM_MOVES = frozenset({"withdraw", "close"})
CSV_HEADER = [
    "number",
    "kind",
    "enterprise_uscc",
    "enterprise",
    "bank",
    "product",
    "amount",
    "term_months",
    "status",
    "submitted_at",
    "accepted_at",
    "first_contact_at",
    "decided_at",
    "pickup_due",
    "contact_due",
    "decision_due",
    "overdue",
    "approved_amount",
    "approved_rate",
    "disbursed_amount",
    "disbursed_on",
    "disbursed_guarantee_method",
    "first_loan",
]


def _is_office(user: Any) -> bool:
    return has_role(user, *OFFICE)


def _may_export(user: Any) -> bool:
    membership = bank_membership_of(user)
    return _is_office(user) or (membership is not None and membership.role == "admin")


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------
def filtered(user: Any, form: ApplicationFilter) -> QuerySet[LoanApplication]:
    qs = services.applications_visible_to(user).select_related("officer")
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    if data["status"]:
        qs = qs.filter(status=data["status"])
    if data["kind"]:
        qs = qs.filter(kind=data["kind"])
    if data["queue"] == "mine":
        qs = qs.filter(officer=user)
    elif data["queue"] == "pool":
        qs = qs.filter(status=ApplicationStatus.SUBMITTED)
    if data["overdue"]:
        qs = qs.filter(sla.any_overdue_q())
    if q := data["q"].strip():
        qs = qs.filter(Q(number__icontains=q) | Q(enterprise__name__icontains=q))
    return qs.order_by("-submitted_at", "-id")


def _csv_rows(qs: QuerySet[LoanApplication]) -> Iterator[list[Any]]:
    now = timezone.now()
    for a in qs.iterator(chunk_size=500):
        yield [
            a.number,
            a.kind,
            a.enterprise.uscc,
            a.enterprise.name,
            a.bank.name if a.bank else "",
            a.product_version.name if a.product_version else "",
            a.amount,
            a.term_months,
            a.status,
            local_iso(a.submitted_at),
            local_iso(a.accepted_at),
            local_iso(a.first_contact_at),
            local_iso(a.decided_at),
            local_iso(a.pickup_due),
            local_iso(a.contact_due),
            local_iso(a.decision_due),
            " ".join(sla.overdue_stages(a, now)),
            a.approved_amount if a.approved_amount is not None else "",
            a.approved_rate if a.approved_rate is not None else "",
            a.disbursed_amount if a.disbursed_amount is not None else "",
            a.disbursed_on.isoformat() if a.disbursed_on else "",
            a.disbursed_guarantee_method,
            "" if a.first_loan is None else int(a.first_loan),
        ]


def _row(application: LoanApplication, now: Any) -> dict[str, Any]:
    return {"a": application, "late": _late_names(sla.overdue_stages(application, now))}


def _late_names(stages: list[str]) -> list[str]:
    return [str(SlaStage(s).label) for s in stages]


@role_required(*LIST_ROLES)
def application_list(request: AuthedRequest) -> HttpResponseBase:
    """The enterprise's applications and demands; a bank's queue (its own, and demands in the
    pool offered to it); everything for the credit office. Filters, paging, CSV."""
    user = request.user
    form = ApplicationFilter(request.GET)
    qs = filtered(user, form)
    if request.GET.get("export") == "csv" and _may_export(user):
        return csv_response("loan-applications.csv", CSV_HEADER, _csv_rows(qs))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    membership = enterprise_membership_of(user)
    return render(
        request,
        "lending/application_list.html",
        {
            "form": form,
            "page": page,
            "rows": [_row(a, now) for a in page],
            "bank_user": bank_membership_of(user) is not None,
            "office": _is_office(user),
            "can_export": _may_export(user),
            "can_apply": membership is not None and can_grant(user, membership.enterprise),
        },
    )


@role_required(*OFFICE)
def punishment_list(request: AuthedRequest) -> HttpResponseBase:
    """Joint-punishment feedback (联合惩戒反馈): every submission refused because of an
    active serious-dishonesty or dishonest-debtor record."""
    qs = PunishmentFeedback.objects.select_related("enterprise", "actor").order_by("-at", "-id")
    if q := request.GET.get("q", "").strip()[:100]:
        qs = qs.filter(Q(enterprise__name__icontains=q) | Q(enterprise__uscc__icontains=q))
    if request.GET.get("export") == "csv":
        return csv_response(
            "punishment-feedback.csv",
            ["at", "enterprise_uscc", "enterprise", "context", "records", "detail"],
            (
                [
                    f.at.isoformat(),
                    f.enterprise.uscc,
                    f.enterprise.name,
                    f.context,
                    " ".join(str(r) for r in f.records),
                    f.detail,
                ]
                for f in qs.iterator(chunk_size=500)
            ),
        )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "lending/punishment_list.html", {"page": page, "q": q})


# ---------------------------------------------------------------------------------------------
# One application
# ---------------------------------------------------------------------------------------------
def _move_forms(
    user: Any, application: LoanApplication, bound: dict[str, forms.Form] | None = None
) -> list[dict[str, Any]]:
    """The moves this user may make now, each with its form (initial values filled in)."""
    shown_moves = []
    for move in services.allowed_moves(application):
        if not services.may_move(user, application, move):
            continue
        form = (bound or {}).get(move) or MOVE_FORMS[move](
            prefix=move, initial=_initial(application, move)
        )
        shown_moves.append(
            {
                "move": move,
                "label": MOVE_LABELS[move],
                "form": form,
                "confirm": move in CONFIRM_MOVES,
                "danger": move in {"reject", "withdraw"},
            }
        )
    return shown_moves


def _initial(application: LoanApplication, move: str) -> dict[str, Any]:
    if move == "approve":
        return {
            "approved_amount": application.amount,
            "approved_term_months": application.term_months,
            "approved_repayment_method": application.repayment_method,
        }
    if move == "disburse":
        version = application.product_version
        methods = version.guarantee_methods if version else []
        return {
            "disbursed_amount": application.approved_amount,
            "disbursed_rate": application.approved_rate,
            "disbursed_on": timezone.localdate(),
            "disbursed_guarantee_method": methods[0] if len(methods) == 1 else "",
        }
    return {}


def _later(done: Any, due: Any) -> bool:
    return done is not None and due is not None and done > due


def _stages(application: LoanApplication, now: Any) -> list[dict[str, Any]]:
    late = set(sla.overdue_stages(application, now))
    done_at = {
        SlaStage.PICKUP: application.accepted_at,
        SlaStage.CONTACT: application.first_contact_at,
        SlaStage.DECISION: application.decided_at,
    }
    due = {
        SlaStage.PICKUP: application.pickup_due,
        SlaStage.CONTACT: application.contact_due,
        SlaStage.DECISION: application.decision_due,
    }
    return [
        {
            "name": stage.label,
            "due": due[stage],
            "done_at": done_at[stage],
            "late": stage in late,
            "done_late": _later(done_at[stage], due[stage]),
        }
        for stage in SlaStage
    ]


def _detail(
    request: AuthedRequest,
    application: LoanApplication,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    membership = bank_membership_of(user)
    own_bank = membership is not None and membership.bank_id == application.bank_id
    events = application.events.select_related("actor")
    return render(
        request,
        "lending/application_detail.html",
        {
            "a": application,
            "error": error,
            "version_shown": shown(application.product_version)
            if application.product_version
            else None,
            "stages": _stages(application, now),
            "sla_note": sla.assumed_note(application.sla_assumed_years),
            "events": [{"e": e, "label": MOVE_LABELS.get(e.move, e.move)} for e in events],
            "moves": _move_forms(user, application, bound),
            # the enterprise and the office see which banks a demand went to
            "offers": application.offers.select_related("bank", "authorization")
            if application.kind == ApplicationKind.DEMAND and not membership
            else None,
            "enterprise_side": enterprise_membership_of(user) is not None,
            "portrait_link": own_bank and application.status not in {"withdrawn"},
            "escalations": () if enterprise_membership_of(user) else application.escalations.all(),
        },
        status=status,
    )


@role_required(*LIST_ROLES)
def application_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(
        services.applications_visible_to(request.user).select_related(
            "officer", "authorization", "product_version__product"
        ),
        pk=pk,
    )
    return _detail(request, application)


@require_POST
@role_required(*LIST_ROLES)
def application_move(request: AuthedRequest, pk: int, move: str) -> HttpResponse:
    visible = services.applications_visible_to(request.user)
    application = get_object_or_404(visible, pk=pk)
    if move not in MOVE_FORMS:
        return redirect("application_detail", pk=pk)
    form = MOVE_FORMS[move](request.POST, prefix=move)
    if form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason", "") or ""
        try:
            services.application_move(
                actor=request.user, application_id=pk, move=move, reason=reason, **data
            )
        except DomainError as exc:
            application.refresh_from_db()
            if move not in services.allowed_moves(application) or not services.may_move(
                request.user, application, move
            ):
                # e.g. a colleague accepted it meanwhile: the form is gone, say why on top
                return _detail(request, application, status=exc.status, error=exc.message)
            show_domain_error(form, exc)
        else:
            messages.success(request, str(MOVE_DONE[move]))
            if not visible.filter(pk=pk).exists():
                return redirect("application_list")
            return redirect("application_detail", pk=pk)
    return _detail(request, application, bound={move: form}, status=400)


# ---------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------
def _blocked(request: AuthedRequest, feedback: PunishmentFeedback) -> HttpResponse:
    return render(request, "lending/blocked.html", {"feedback": feedback}, status=403)


@role_required(*ENTERPRISE_ROLES)
def application_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """Apply to a listed product (在线申请): the terms, whether the enterprise qualifies, and
    the authorisation the bank gets (reused or new, confirmed with the password)."""
    try:
        product = services.listed_product(pk)
    except NotFound:
        raise Http404 from None
    version = product.live_version
    assert version is not None
    membership = enterprise_membership_of(request.user)
    assert membership is not None
    enterprise = membership.enterprise
    result = eligibility.check(eligibility.facts_for(enterprise), version)
    plan = services.plan_for_product(enterprise, version)
    punished, _records = services.punishment_reason(enterprise)
    form = ApplyForm(
        request.POST or None,
        offered=version.repayment_methods,
        initial={"amount": version.amount_min, "term_months": version.term_min},
    )
    may_apply = can_grant(request.user, enterprise)
    status = 200
    if request.method == "POST" and may_apply and form.is_valid():
        data = form.cleaned_data
        try:
            submission = services.application_submit(
                actor=request.user,
                product_id=pk,
                amount=data["amount"],
                term_months=data["term_months"],
                repayment_method=data["repayment_method"],
                purpose=data["purpose"],
                password=data.get("password", ""),
                otp_code=data.get("otp_code", ""),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
            status = 400
        else:
            if submission.blocked is not None:
                return _blocked(request, submission.blocked)
            assert submission.application is not None
            messages.success(
                request,
                _("申请已提交，%(bank)s将在 %(due)s 前接单。")
                % {
                    "bank": product.bank.name,
                    "due": f"{submission.application.pickup_due:%Y-%m-%d}",
                },
            )
            return redirect("application_detail", pk=submission.application.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "lending/application_form.html",
        {
            "version": version,
            "shown": shown(version),
            "conditions": conditions(version, result),
            "eligibility": result,
            "plan": plan,
            "form": form,
            "may_apply": may_apply,
            "punished": punished,
        },
        status=status,
    )


@role_required(*ENTERPRISE_ROLES)
def demand_create(request: AuthedRequest) -> HttpResponse:
    """Post a financing demand in two steps: the terms, then the banks it will go to with the
    authorisation each gets, confirmed with the password (发布融资需求)."""
    membership = enterprise_membership_of(request.user)
    assert membership is not None
    enterprise = membership.enterprise
    may_apply = can_grant(request.user, enterprise)
    punished, _records = services.punishment_reason(enterprise)
    form = DemandForm(request.POST or None)
    plans: list[services.AuthorizationPlan] | None = None
    status = 200
    if request.method == "POST" and may_apply and form.is_valid():
        data = form.cleaned_data
        terms = {
            "amount": data["amount"],
            "term_months": data["term_months"],
        }
        guarantee = data.get("preferred_guarantee") or ""
        plans = services.demand_plans(enterprise, guarantee=guarantee, **terms)
        if request.POST.get("step") == "confirm":
            try:
                submission = services.demand_submit(
                    actor=request.user,
                    purpose=data["purpose"],
                    preferred_guarantee=guarantee,
                    password=data.get("password", ""),
                    otp_code=data.get("otp_code", ""),
                    **terms,
                )
            except DomainError as exc:
                show_domain_error(form, exc)
                status = 400
            else:
                if submission.blocked is not None:
                    return _blocked(request, submission.blocked)
                assert submission.application is not None
                messages.success(
                    request,
                    _("融资需求已推送给 %(n)d 家银行，请留意接单通知。") % {"n": len(plans)},
                )
                return redirect("application_detail", pk=submission.application.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "lending/demand_form.html",
        {
            "form": form,
            "plans": plans,
            "needs_confirmation": any(p.needs_grant for p in plans or []),
            "may_apply": may_apply,
            "punished": punished,
        },
        status=status,
    )
