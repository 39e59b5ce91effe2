"""Matching pages (融资对接): a bank's recommended enterprises for one of its products, with the
reasons and an invitation to apply; an enterprise's recommended products."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from banks.models import LoanProduct
from enterprises import reference
from enterprises.access import grant_url
from enterprises.models import (
    Authorization,
    AuthorizationPurpose,
    AuthorizationStatus,
    Enterprise,
)
from lending import invitations
from lending.models import InvitationStatus, MatchInvitation
from xinyidai.core.errors import DomainError
from xinyidai.core.masking import mask_firm_name
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import (
    BANK_ROLES,
    ENTERPRISE_ROLES,
    bank_membership_of,
    enterprise_membership_of,
    role_required,
)


class MatchFilter(forms.Form):
    town = forms.ChoiceField(
        label=gettext_lazy("镇街"),
        required=False,
        choices=[("", gettext_lazy("全部")), *reference.TOWN_NAMES.items()],
    )
    industry = forms.ChoiceField(
        label=gettext_lazy("行业"),
        required=False,
        choices=[("", gettext_lazy("全部")), *reference.INDUSTRY_SECTIONS.items()],
    )
    grade = forms.ChoiceField(
        label=gettext_lazy("信用等级"),
        required=False,
        choices=[("", gettext_lazy("全部")), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")],
    )
    has_demand = forms.BooleanField(label=gettext_lazy("只看有融资需求的"), required=False)
    limit = forms.IntegerField(
        label=gettext_lazy("条数"), required=False, min_value=1, max_value=500, initial=100
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {k: data[k] for k in ("town", "industry", "grade", "has_demand") if data.get(k)}


def _own_product(user: Any, pk: int) -> LoanProduct:
    membership = bank_membership_of(user)
    product = LoanProduct.objects.select_related("bank", "live_version").filter(pk=pk).first()
    if membership is None or product is None or product.bank_id != membership.bank_id:
        raise Http404
    return product


@role_required(*BANK_ROLES)
def product_matches(request: AuthedRequest, pk: int) -> HttpResponse:
    """Recommended enterprises for one of the bank's listed products, best fit first; a firm
    the bank holds no authorisation from is shown masked and can be invited to apply."""
    from lending import matching

    product = _own_product(request.user, pk)
    form = MatchFilter(request.GET or None)
    rows: list[Any] = []
    if (
        product.listed
        and product.live_version is not None
        and (not form.is_bound or form.is_valid())
    ):
        options = form.filters() if form.is_bound else {}
        limit = (form.cleaned_data.get("limit") if form.is_bound else None) or 100
        rows = matching.rank_enterprises(
            product.live_version, bank_id=product.bank_id, limit=limit, filters=options
        )
    names = dict(
        Enterprise.objects.filter(pk__in=[m.enterprise_id for m in rows]).values_list("pk", "name")
    )
    pending = set(
        MatchInvitation.objects.filter(
            product=product,
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
        ).values_list("enterprise_id", flat=True)
    )
    return render(
        request,
        "lending/match_list.html",
        {
            "product": product,
            "form": form,
            "rows": [
                {
                    "m": m,
                    "ref": invitations.enterprise_ref(m.enterprise_id),
                    "invited": m.enterprise_id in pending,
                    # the bank sees who it is only under an authorisation to it
                    "name": names.get(m.enterprise_id, "")
                    if m.bank_authorized
                    else mask_firm_name(names.get(m.enterprise_id, "")),
                    "town": reference.TOWN_NAMES.get(m.town, m.town),
                    "industry": reference.INDUSTRY_SECTIONS.get(m.industry_section, ""),
                }
                for m in rows
            ],
        },
    )


@require_POST
@role_required(*BANK_ROLES)
def product_invite(request: AuthedRequest, pk: int) -> HttpResponse:
    product = _own_product(request.user, pk)
    reasons = [r for r in request.POST.getlist("reasons") if r][:10]
    try:
        invitations.invite(
            actor=request.user,
            product_id=product.pk,
            ref=request.POST.get("ref", ""),
            message=request.POST.get("message", ""),
            reasons=reasons,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已发出邀请，企业回复后会通知您。"))
    return redirect("product_matches", pk=product.pk)


@role_required(*ENTERPRISE_ROLES)
def recommended_products(request: AuthedRequest) -> HttpResponse:
    """Products the enterprise qualifies for, best fit first, with the reasons; and whether
    banks can find it (its `matching` authorisation)."""
    from lending import matching

    membership = enterprise_membership_of(request.user)
    assert membership is not None
    enterprise = membership.enterprise
    now = timezone.now()
    opted = (
        Authorization.objects.filter(
            enterprise=enterprise,
            purpose=AuthorizationPurpose.MATCHING,
            status=AuthorizationStatus.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        .select_related("grantee_bank")
        .order_by("-valid_until")
    )
    return render(
        request,
        "lending/recommended_products.html",
        {
            "rows": matching.rank_products(enterprise, limit=20),
            "opted": list(opted),
            "opt_in_url": grant_url(
                enterprise=enterprise, bank_id=None, scope="summary", purpose="matching"
            ),
        },
    )
