from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from enterprises import access, portrait, selectors, services, uscc
from enterprises.forms import (
    AccessReasonForm,
    ClaimFilterForm,
    ClaimForm,
    DecisionForm,
    EnterpriseInviteForm,
    RecordFilterForm,
    RegistryFilterForm,
)
from enterprises.models import (
    AuthorizationScope,
    Enterprise,
    EnterpriseClaim,
    EnterpriseInvitation,
)
from xinyidai.api.utils import accept_url_base
from xinyidai.core.csvexport import csv_response
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.types import AuthedRequest
from xinyidai.core.views import invitation_accept_page
from xinyidai.permissions import (
    ENTERPRISE_ROLES,
    Role,
    can_manage_enterprise_members,
    enterprise_membership_of,
    has_role,
    role_required,
)

PAGE_SIZE = 25


def uscc_check_page(request: HttpRequest) -> HttpResponse:
    """Public page: check a USCC and see every fault in plain words."""
    code = request.GET.get("code", "")
    result = uscc.check(code) if code else None
    return render(request, "enterprises/uscc_check.html", {"code": code, "result": result})


@login_required
def claim_create(request: AuthedRequest) -> HttpResponse:
    form = ClaimForm(request.POST or None, initial={"uscc": request.GET.get("uscc", "")})
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.claim_submit(
                user=request.user,
                uscc_code=form.cleaned_data["uscc"],
                name=form.cleaned_data["name"],
                legal_rep_name=form.cleaned_data["legal_rep_name"],
            )
        except DomainError as exc:
            fields = (exc.detail or {}).get("fields") if isinstance(exc.detail, dict) else None
            for field in fields or [None]:
                form.add_error(field, exc.message)
        else:
            if claim.status == "approved":
                messages.success(request, _("认领成功，您已成为该企业的所有者。"))
                return redirect("my_enterprise")
            if claim.status == "disputed":
                messages.warning(request, _("该企业已有所有者，您的申请已作为争议提交信用办裁定。"))
            else:
                messages.success(request, _("认领申请已提交，等待信用办审核。"))
            return redirect("claim_list")
    return render(request, "enterprises/claim_form.html", {"form": form})


@login_required
def claim_list(request: AuthedRequest) -> HttpResponse:
    claims = selectors.claim_list(user=request.user).filter(user=request.user)
    return render(request, "enterprises/claim_list.html", {"claims": claims})


@login_required
@require_POST
def claim_withdraw(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        services.claim_withdraw(claim_id=pk, user=request.user)
        messages.success(request, _("认领申请已撤回。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("claim_list")


@role_required(*ENTERPRISE_ROLES)
def my_enterprise(request: AuthedRequest) -> HttpResponse:
    membership = enterprise_membership_of(request.user)
    assert membership is not None
    enterprise = membership.enterprise
    can_manage = can_manage_enterprise_members(request.user, enterprise)
    form = EnterpriseInviteForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                services.enterprise_invitation_create(
                    actor=request.user,
                    enterprise=enterprise,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    accept_url_base=accept_url_base(request, "enterprise_invitation_accept"),
                )
            except DomainError as exc:
                form.add_error("email", exc.message)
            else:
                messages.success(
                    request, _("邀请已发送至 %(email)s") % {"email": form.cleaned_data["email"]}
                )
                return redirect("my_enterprise")
    return render(
        request,
        "enterprises/enterprise_mine.html",
        {
            "enterprise": enterprise,
            "membership": membership,
            "members": enterprise.memberships.select_related("user").order_by("role", "id"),
            "invitations": enterprise.invitations.filter(accepted_at__isnull=True)[:20]
            if can_manage
            else [],
            "can_manage": can_manage,
            "form": form,
        },
    )


@role_required(Role.ENTERPRISE_OWNER)
@require_POST
def member_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        services.enterprise_member_remove(actor=request.user, membership_id=pk)
        messages.success(request, _("成员已移除。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("my_enterprise")


@login_required
def invitation_accept(request: AuthedRequest, token: str) -> HttpResponse:
    return invitation_accept_page(
        request,
        token,
        invitations=EnterpriseInvitation.objects.select_related("enterprise"),
        organisation=lambda invitation: invitation.enterprise.name,
        accept=services.enterprise_invitation_accept,
        success_message=_("您已加入企业。"),
        success_url="my_enterprise",
    )


@role_required(Role.CREDIT_OFFICE, Role.SUPERUSER)
def registry(request: AuthedRequest) -> HttpResponseBase:
    form = RegistryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.enterprise_list(user=request.user, **{k: v for k, v in filters.items() if v})
    if request.GET.get("export") == "csv":
        return csv_response(
            f"enterprises-{timezone.localdate():%Y%m%d}.csv",
            selectors.REGISTRY_CSV_HEADER,
            selectors.enterprise_csv_rows(qs),
        )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "enterprises/enterprise_list.html", {"form": form, "page": page})


def _page_read(
    request: AuthedRequest, uscc_code: str, *, scope: str
) -> tuple[Enterprise, access.ReadAccess] | HttpResponse:
    """Decide and log a page's read; a refusal becomes the page that says what is missing."""
    enterprise = selectors.enterprise_for_read(uscc=uscc_code)
    if enterprise is None:
        raise Http404
    try:
        return enterprise, access.read(request, enterprise, scope=scope, page=True)
    except access.ReadDenied as exc:
        template = (
            "enterprises/access_reason.html"
            if exc.code == "reason_required"
            else "enterprises/access_denied.html"
        )
        return render(
            request,
            template,
            {"enterprise": enterprise, "error": exc, "next": request.get_full_path()},
            status=403,
        )
    except NotFound as exc:
        raise Http404 from exc


@login_required
def enterprise_detail(request: AuthedRequest, uscc_code: str) -> HttpResponse:
    result = _page_read(request, uscc_code, scope=AuthorizationScope.SUMMARY)
    if isinstance(result, HttpResponse):
        return result
    enterprise, read = result
    records = None
    if read.covers(AuthorizationScope.RECORDS):
        records = Paginator(
            selectors.records_shown(user=request.user, enterprise=enterprise), PAGE_SIZE
        ).get_page(request.GET.get("page"))
    return render(
        request,
        "enterprises/enterprise_detail.html",
        {"enterprise": enterprise, "records": records, "read": read},
    )


@login_required
@require_POST
def access_reason(request: AuthedRequest, uscc_code: str) -> HttpResponse:
    """The credit office states why it opens an enterprise's pages (kept for a while)."""
    enterprise = selectors.enterprise_for_read(uscc=uscc_code, brief=True)
    if enterprise is None or not has_role(request.user, Role.CREDIT_OFFICE, Role.SUPERUSER):
        raise Http404
    form = AccessReasonForm(request.POST)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("enterprise_detail", args=[enterprise.uscc])
    if not form.is_valid():
        return render(
            request,
            "enterprises/access_reason.html",
            {"enterprise": enterprise, "form": form, "next": next_url},
            status=400,
        )
    access.remember_reason(request, enterprise, form.cleaned_data["reason"])
    return redirect(next_url)


@role_required(Role.CREDIT_OFFICE)
def office_claims(request: AuthedRequest) -> HttpResponse:
    form = ClaimFilterForm({"status": request.GET.get("status", "open")})
    status = form.cleaned_data["status"] if form.is_valid() else "open"
    page = Paginator(selectors.claim_list(user=request.user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "enterprises/claim_review_list.html",
        {"form": form, "page": page, "decision_form": DecisionForm()},
    )


@role_required(Role.CREDIT_OFFICE)
def office_claim_decide(request: AuthedRequest, pk: int) -> HttpResponse:
    claim = selectors.claim_list(user=request.user).filter(pk=pk).first()
    if claim is None:
        raise Http404
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                services.claim_approve(
                    claim_id=pk,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, _("已通过认领申请。"))
            else:
                services.claim_reject(
                    claim_id=pk,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, _("已驳回认领申请。"))
            return redirect("office_claims")
        except DomainError as exc:
            form.add_error(None, exc.message)
    history = (
        EnterpriseClaim.objects.filter(enterprise=claim.enterprise)
        .exclude(pk=pk)
        .select_related("user", "decided_by")
    )
    return render(
        request,
        "enterprises/claim_review.html",
        {"claim": claim, "form": form, "history": history},
    )


@login_required
def portrait_page(request: AuthedRequest, uscc_code: str) -> HttpResponse:
    result = _page_read(request, uscc_code, scope=AuthorizationScope.SUMMARY)
    if isinstance(result, HttpResponse):
        return result
    enterprise, read = result
    user = request.user
    shows_portrait = read.covers(AuthorizationScope.PORTRAIT)
    shows_records = read.covers(AuthorizationScope.RECORDS)
    context: dict[str, object] = {
        "enterprise": enterprise,
        "read": read,
        "shows_portrait": shows_portrait,
        "shows_records": shows_records,
        "graph": None,
    }
    if shows_portrait:
        context |= {
            "portrait": portrait.portrait(user=user, enterprise=enterprise),
            "ownership": portrait.ownership_json(user=user, enterprise=enterprise),
            "family": portrait.family_json(user=user, enterprise=enterprise),
            "graph": portrait.graph_json(user=user, enterprise=enterprise),
        }
    else:
        context["portrait"] = portrait.summary(user=user, enterprise=enterprise)
    if shows_records:
        filters = RecordFilterForm(request.GET or None)
        record_type = year = None
        if filters.is_valid():
            record_type = filters.cleaned_data["record_type"] or None
            year = filters.cleaned_data["year"]
        context["filters"] = filters
        context["timeline"] = Paginator(
            portrait.records(
                user=user, enterprise=enterprise, record_type=record_type or "", year=year
            ),
            PAGE_SIZE,
        ).get_page(request.GET.get("page"))
    return render(request, "enterprises/portrait.html", context)
