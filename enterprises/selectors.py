from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from enterprises.models import Enterprise, EnterpriseClaim
from xinyidai.permissions import claims_visible_to, enterprises_visible_to


def enterprise_list(
    *, user: Any, q: str = "", town: str = "", status: str = "", industry_section: str = ""
) -> QuerySet[Enterprise]:
    qs = enterprises_visible_to(user)
    if q:
        qs = qs.filter(Q(name__icontains=q.strip()) | Q(uscc__startswith=q.strip().upper()))
    if town:
        qs = qs.filter(town=town)
    if status:
        qs = qs.filter(status=status)
    if industry_section:
        qs = qs.filter(industry_section=industry_section)
    return qs.order_by("name", "id")


def enterprise_get(*, user: Any, uscc: str) -> Enterprise | None:
    return enterprises_visible_to(user).filter(uscc=uscc.strip().upper()).first()


def claim_list(*, user: Any, status: str = "") -> QuerySet[EnterpriseClaim]:
    qs = claims_visible_to(user)
    if status == "open":
        qs = qs.filter(status__in=["pending", "disputed"])
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")
