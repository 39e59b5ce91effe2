"""Pages of invitations to apply: the enterprise answers them, the bank follows those it sent."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from enterprises.authorization import can_grant
from lending import invitations
from lending.models import InvitationStatus
from lending.views import LIST_ROLES
from xinyidai.core.errors import DomainError
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import bank_membership_of, enterprise_membership_of, role_required

PAGE_SIZE = 25


@role_required(*LIST_ROLES)
def invitation_list(request: AuthedRequest, error: str = "", status: int = 200) -> HttpResponse:
    user = request.user
    qs = invitations.invitations_visible_to(user).order_by("-created_at", "-id")
    chosen = request.GET.get("status", "")
    if chosen in InvitationStatus.values:
        qs = qs.filter(status=chosen)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    membership = enterprise_membership_of(user)
    return render(
        request,
        "lending/invitation_list.html",
        {
            "page": page,
            "chosen": chosen,
            "statuses": InvitationStatus.choices,
            "may_answer": membership is not None and can_grant(user, membership.enterprise),
            "bank_user": bank_membership_of(user) is not None,
            "error": error,
        },
        status=status,
    )


@require_POST
@role_required(*LIST_ROLES)
def invitation_move(request: AuthedRequest, pk: int, move: str) -> HttpResponse:
    invitation = get_object_or_404(invitations.invitations_visible_to(request.user), pk=pk)
    try:
        invitations.respond(
            actor=request.user,
            invitation_id=invitation.pk,
            move=move,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        return invitation_list(request, error=exc.message, status=exc.status)
    if move == "accept":
        messages.success(request, _("已接受邀请，请填写申请。"))
        return redirect("application_create", pk=invitation.product_id)
    messages.success(request, _("已谢绝邀请，银行已收到您的回复。"))
    return redirect("invitation_list")
