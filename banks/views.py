from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from banks import services
from banks.forms import BankForm, BankInviteForm, BranchForm
from banks.models import Bank, BankInvitation
from xinyidai.api.utils import accept_url_base
from xinyidai.core.errors import DomainError
from xinyidai.core.types import AuthedRequest
from xinyidai.core.views import invitation_accept_page
from xinyidai.permissions import (
    BANK_ROLES,
    Role,
    bank_membership_of,
    can_manage_bank,
    role_required,
)


@role_required(*BANK_ROLES)
def my_bank(request: AuthedRequest) -> HttpResponse:
    membership = bank_membership_of(request.user)
    assert membership is not None
    bank = membership.bank
    can_manage = can_manage_bank(request.user, bank)
    branch_form = BranchForm(prefix="branch")
    invite_form = BankInviteForm(prefix="invite", bank_id=bank.pk)
    if request.method == "POST" and can_manage:
        if "branch-name" in request.POST:
            branch_form = BranchForm(request.POST, prefix="branch")
            if branch_form.is_valid():
                try:
                    services.branch_create(
                        actor=request.user, bank=bank, **branch_form.cleaned_data
                    )
                except DomainError as exc:
                    branch_form.add_error("name", exc.message)
                else:
                    messages.success(request, _("网点已新增。"))
                    return redirect("my_bank")
        else:
            invite_form = BankInviteForm(request.POST, prefix="invite", bank_id=bank.pk)
            if invite_form.is_valid():
                try:
                    services.bank_invitation_create(
                        actor=request.user,
                        bank=bank,
                        email=invite_form.cleaned_data["email"],
                        role=invite_form.cleaned_data["role"],
                        branch=invite_form.cleaned_data["branch"],
                        accept_url_base=accept_url_base(request, "bank_invitation_accept"),
                    )
                except DomainError as exc:
                    invite_form.add_error("email", exc.message)
                else:
                    messages.success(
                        request,
                        _("邀请已发送至 %(email)s") % {"email": invite_form.cleaned_data["email"]},
                    )
                    return redirect("my_bank")
    return render(
        request,
        "banks/bank_mine.html",
        {
            "bank": bank,
            "membership": membership,
            "branches": bank.branches.all(),
            "members": bank.memberships.select_related("user", "branch").order_by("role", "id"),
            "invitations": bank.invitations.filter(accepted_at__isnull=True)[:20]
            if can_manage
            else [],
            "can_manage": can_manage,
            "branch_form": branch_form,
            "invite_form": invite_form,
        },
    )


@login_required
def invitation_accept(request: AuthedRequest, token: str) -> HttpResponse:
    return invitation_accept_page(
        request,
        token,
        invitations=BankInvitation.objects.select_related("bank"),
        organisation=lambda invitation: invitation.bank.name,
        accept=services.bank_invitation_accept,
        success_message=_("您已加入银行。银行人员须启用双因素认证。"),
        success_url="my_bank",
    )


@role_required(Role.CREDIT_OFFICE, Role.SUPERUSER)
def bank_registry(request: AuthedRequest) -> HttpResponse:
    form = BankForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bank = services.bank_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                fi_code=form.cleaned_data["fi_code"],
                uscc_code=form.cleaned_data["uscc"],
                admin_email=form.cleaned_data["admin_email"],
                accept_url_base=accept_url_base(request, "bank_invitation_accept"),
            )
        except DomainError as exc:
            field = next(iter(exc.detail), None) if isinstance(exc.detail, dict) else None
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("已登记银行“%(name)s”。") % {"name": bank.name})
            return redirect("bank_registry")
    page = Paginator(Bank.objects.prefetch_related("branches").order_by("name"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "banks/bank_list.html", {"form": form, "page": page})
