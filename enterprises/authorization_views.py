"""Pages of data-sharing authorisations (授权), the access trail and the public ledger anchors."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from enterprises import authorization as services
from enterprises import selectors
from enterprises.api.authorizations import letter_response
from enterprises.authorization_forms import (
    AccessLogPageFilter,
    AuthorizationForm,
    AuthorizationPageFilter,
    RenewForm,
    RevokeForm,
    show_domain_error,
)
from enterprises.models import SCOPE_DESCRIPTIONS, AccessLog, Authorization
from xinyidai.core import ledger
from xinyidai.core.csvexport import csv_response
from xinyidai.core.errors import DomainError
from xinyidai.core.models import LedgerAnchor, LedgerCheck, LedgerHead
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import (
    BANK_ROLES,
    ENTERPRISE_ROLES,
    Role,
    access_logs_visible_to,
    authorizations_visible_to,
    enterprise_membership_of,
    has_role,
    role_required,
)

PAGE_SIZE = 25
ANCHORS_PAGE_SIZE = 30
CHART_DAYS = 30
RECENT_READS = 20
BEIJING = ZoneInfo("Asia/Shanghai")

# Who may open the lists: the enterprise's people, the banks', and the credit office.
VIEWER_ROLES = (*ENTERPRISE_ROLES, *BANK_ROLES, Role.CREDIT_OFFICE, Role.SUPERUSER)
GRANTER_ROLES = (Role.ENTERPRISE_OWNER, Role.ENTERPRISE_ADMIN)

READER_LABELS = {  # who read, when not a bank (AccessLog.role)
    Role.CREDIT_OFFICE.value: gettext_lazy("信用办"),
    Role.SUPERUSER.value: gettext_lazy("平台管理员"),
}


def _visible(request: AuthedRequest, pk: int) -> Authorization:
    return get_object_or_404(authorizations_visible_to(request.user), pk=pk)


def _is_office(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)


def _is_enterprise(user: Any) -> bool:
    return not _is_office(user) and enterprise_membership_of(user) is not None


# ---------------------------------------------------------------------------------------------
# Authorisations
# ---------------------------------------------------------------------------------------------
@role_required(*VIEWER_ROLES)
def authorization_list(request: AuthedRequest) -> HttpResponseBase:
    filters = AuthorizationPageFilter(
        request.GET,
        queryset=authorizations_visible_to(request.user).order_by("-granted_at", "-id"),
        user=request.user,
    )
    if request.GET.get("export") == "csv":
        return csv_response(
            f"authorizations-{timezone.localdate():%Y%m%d}.csv",
            selectors.AUTHORIZATION_CSV_HEADER,
            selectors.authorization_csv_rows(filters.qs),
        )
    return render(
        request,
        "enterprises/authorization_list.html",
        {
            "form": filters.form,
            "page": Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "show_enterprise": not _is_enterprise(request.user),
            "can_grant": has_role(request.user, *GRANTER_ROLES),
        },
    )


@role_required(*GRANTER_ROLES)
def authorization_create(request: AuthedRequest) -> HttpResponse:
    membership = enterprise_membership_of(request.user)
    assert membership is not None
    prefill = {
        field: request.GET[param]
        for field, param in (("grantee_bank", "bank"), ("scope", "scope"), ("purpose", "purpose"))
        if request.GET.get(param)
    }
    form = AuthorizationForm(request.POST or None, initial=prefill)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            authorization = services.authorization_grant(
                actor=request.user,
                enterprise=membership.enterprise,
                grantee_bank_id=form.grantee_bank_id(),
                scope=data["scope"],
                purpose=data["purpose"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                password=data["password"],
                otp_code=data["otp_code"].strip(),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(
                request, _("授权成功，授权编号：%(number)s。") % {"number": authorization.number}
            )
            return redirect("authorization_detail", authorization.pk)
    return render(
        request,
        "enterprises/authorization_form.html",
        {"form": form, "enterprise": membership.enterprise},
    )


@login_required
def authorization_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    authorization = _visible(request, pk)
    moves = (
        services.allowed_moves(authorization)
        if services.can_grant(request.user, authorization.enterprise)
        else []
    )
    return render(
        request,
        "enterprises/authorization_detail.html",
        {
            "authorization": authorization,
            "scope_description": SCOPE_DESCRIPTIONS[authorization.scope],
            "renewal": authorizations_visible_to(request.user)
            .filter(renewed_from=authorization)
            .first(),
            "events": authorization.events.select_related("actor").order_by("at", "id"),
            "reads": access_logs_visible_to(request.user)
            .filter(authorization=authorization)
            .order_by("-at", "-id")[:RECENT_READS],
            "can_revoke": "revoke" in moves,
            "can_renew": "renew" in moves,
            "revoke_form": RevokeForm(),
        },
    )


@login_required
def authorization_letter(request: AuthedRequest, pk: int) -> HttpResponse:
    return letter_response(request, _visible(request, pk))


@role_required(*GRANTER_ROLES)
@require_POST
def authorization_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    authorization = _visible(request, pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("authorization_detail", pk)
    try:
        services.authorization_revoke(
            actor=request.user, authorization_id=pk, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("授权 %(number)s 已撤销，银行此后的查询将被拒绝。")
            % {"number": authorization.number},
        )
    return redirect("authorization_detail", pk)


@role_required(*GRANTER_ROLES)
def authorization_renew(request: AuthedRequest, pk: int) -> HttpResponse:
    authorization = _visible(request, pk)
    form = RenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = services.authorization_renew(
                actor=request.user,
                authorization_id=pk,
                valid_until=data["valid_until"],
                password=data["password"],
                otp_code=data["otp_code"].strip(),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("已续期，新的授权编号：%(number)s；原授权 %(old)s 已终止。")
                % {"number": new.number, "old": authorization.number},
            )
            return redirect("authorization_detail", new.pk)
    return render(
        request,
        "enterprises/authorization_renew.html",
        {
            "authorization": authorization,
            "form": form,
            "can_renew": "renew" in services.allowed_moves(authorization),
        },
    )


# ---------------------------------------------------------------------------------------------
# Who read what
# ---------------------------------------------------------------------------------------------
def reads_per_day(qs: QuerySet[AccessLog], *, days: int = CHART_DAYS) -> dict[str, list[Any]]:
    """Reads on each of the last `days` days (Beijing dates), zeros included: one query."""
    today = timezone.localdate(timezone=BEIJING)
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min), BEIJING)
    counts = dict(
        qs.filter(at__gte=since)
        .annotate(day=TruncDate("at", tzinfo=BEIJING))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
        .values_list("day", "n")
    )
    span = [first + timedelta(days=i) for i in range(days)]
    return {
        "days": [f"{day:%m-%d}" for day in span],
        "counts": [counts.get(day, 0) for day in span],
    }


def _access_log_title(user: Any) -> str:
    if _is_office(user):
        return _("数据访问记录")
    if _is_enterprise(user):
        return _("谁查询了我的数据")
    return _("本行查询记录")


@role_required(*VIEWER_ROLES)
def access_log(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    filters = AccessLogPageFilter(
        request.GET, queryset=access_logs_visible_to(user).order_by("-at", "-id"), user=user
    )
    if request.GET.get("export") == "csv":
        return csv_response(
            f"access-log-{timezone.localdate():%Y%m%d}.csv",
            selectors.ACCESS_LOG_CSV_HEADER,
            selectors.access_log_csv_rows(filters.qs),
        )
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ids = {log.authorization_id for log in page if log.authorization_id}
    linked = set(
        authorizations_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
        if ids
        else []
    )
    rows = [
        {
            "log": log,
            "reader": log.bank.name if log.bank else READER_LABELS.get(log.role, ""),
            "linked": log.authorization_id in linked,
        }
        for log in page
    ]
    return render(
        request,
        "enterprises/access_log.html",
        {
            "title": _access_log_title(user),
            "officer_only": not _is_office(user) and has_role(user, Role.BANK_OFFICER),
            "form": filters.form,
            "page": page,
            "rows": rows,
            "chart": reads_per_day(filters.qs),
            "show_enterprise": not _is_enterprise(user),
        },
    )


# ---------------------------------------------------------------------------------------------
# The ledger's public anchors
# ---------------------------------------------------------------------------------------------
def ledger_anchors(request: HttpRequest) -> HttpResponse:
    """Public: anyone may keep copies of the daily anchors to check the ledger later."""
    office = _is_office(request.user)
    return render(
        request,
        "ledger/ledger_anchors.html",
        {
            "head": LedgerHead.objects.filter(pk=1).first(),
            "page": Paginator(LedgerAnchor.objects.order_by("-day"), ANCHORS_PAGE_SIZE).get_page(
                request.GET.get("page")
            ),
            "checks": LedgerCheck.objects.order_by("-ran_at")[:10] if office else [],
            "show_checks": office,
            "can_verify": has_role(request.user, Role.CREDIT_OFFICE),
        },
    )


@role_required(Role.CREDIT_OFFICE)
@require_POST
def ledger_verify_now(request: AuthedRequest) -> HttpResponse:
    check = ledger.verify_and_record()
    if check.ok:
        messages.success(
            request, _("账本完整：%(entries)d 条记录全部校验通过。") % {"entries": check.entries}
        )
    else:
        messages.error(
            request,
            _("账本被篡改：第 %(seq)s 条：%(problem)s")
            % {"seq": check.first_bad_seq, "problem": check.problem},
        )
    return redirect("ledger_anchors")
