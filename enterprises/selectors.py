from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from enterprises.models import CreditRecord, Enterprise, EnterpriseClaim, RecordStatus
from xinyidai.permissions import can_view_enterprise, claims_visible_to, enterprises_visible_to


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


def enterprise_get(*, user: Any, uscc: str, brief: bool = False) -> Enterprise | None:
    """The enterprise behind `uscc` if the user may see it. `brief` loads only what the portrait
    needs (no encrypted columns to decrypt on a hot path)."""
    qs = enterprises_visible_to(user).filter(uscc=uscc.strip().upper())
    if brief:
        qs = qs.only("id", "uscc", "name")
    return qs.first()


def claim_list(*, user: Any, status: str = "") -> QuerySet[EnterpriseClaim]:
    qs = claims_visible_to(user)
    if status == "open":
        qs = qs.filter(status__in=["pending", "disputed"])
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


# Column names are a contract for the credit office's spreadsheets: add, never rename.
REGISTRY_CSV_HEADER = [
    "uscc",
    "name",
    "town",
    "industry_section",
    "industry_division",
    "scale",
    "registered_capital",
    "established_date",
    "status",
    "legal_rep_name",
    "legal_rep_id_masked",
    "address",
]


def enterprise_csv_rows(qs: QuerySet[Enterprise]) -> Iterator[list[Any]]:
    for e in qs.iterator(chunk_size=2000):
        yield [
            e.uscc,
            e.name,
            e.get_town_display(),
            e.industry_section,
            e.industry_division,
            e.get_scale_display(),
            e.registered_capital,
            e.established_date,
            e.get_status_display(),
            e.legal_rep_name,
            e.legal_rep_id_masked,
            e.address,
        ]


def records_shown(*, user: Any, enterprise: Enterprise) -> QuerySet[CreditRecord]:
    """Records still published for an enterprise, newest first: expired, repaired and disputed
    ones are not shown (nor counted)."""
    if not can_view_enterprise(user, enterprise):
        return CreditRecord.objects.none()
    return CreditRecord.objects.filter(enterprise=enterprise, status=RecordStatus.ACTIVE).order_by(
        "-decision_date", "-id"
    )
