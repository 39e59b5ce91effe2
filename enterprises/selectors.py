from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from enterprises import access
from enterprises.models import (
    AccessLog,
    Authorization,
    CreditRecord,
    Enterprise,
    EnterpriseClaim,
    RecordStatus,
)
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


def enterprise_get(*, user: Any, uscc: str, brief: bool = False) -> Enterprise | None:
    """The enterprise behind `uscc` if the user may see it. `brief` loads only what the portrait
    needs (no encrypted columns to decrypt on a hot path)."""
    qs = enterprises_visible_to(user).filter(uscc=uscc.strip().upper())
    if brief:
        qs = qs.only("id", "uscc", "name")
    return qs.first()


def enterprise_for_read(*, uscc: str, brief: bool = False) -> Enterprise | None:
    """The enterprise behind `uscc` before `access.read` decides whether this reader may see
    it — the only lookup that does not start from the reader's tenant, and nothing from it may
    be shown until that decision."""
    qs = Enterprise.objects.filter(uscc=uscc.strip().upper())
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
    access.require(user, enterprise, "records")
    return CreditRecord.objects.filter(enterprise=enterprise, status=RecordStatus.ACTIVE).order_by(
        "-decision_date", "-id"
    )


# Column names are a contract (banks' and the office's spreadsheets): add, never rename.
AUTHORIZATION_CSV_HEADER = [
    "number",
    "enterprise_uscc",
    "enterprise_name",
    "grantee_bank",
    "scope",
    "purpose",
    "valid_from",
    "valid_until",
    "state",
    "granted_by",
    "granted_at",
    "ended_at",
    "end_reason",
    "renewed_from",
    "digest",
]
ACCESS_LOG_CSV_HEADER = [
    "at",
    "enterprise_uscc",
    "enterprise_name",
    "user",
    "role",
    "bank",
    "scope",
    "purpose",
    "reason",
    "authorization",
    "path",
    "client_ip",
    "ledger_seq",
]


def _local(at: Any) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def authorization_csv_rows(qs: QuerySet[Authorization]) -> Iterator[list[Any]]:
    now = timezone.now()
    for a in qs.iterator(chunk_size=2000):
        yield [
            a.number,
            a.enterprise.uscc,
            a.enterprise.name,
            a.grantee_name,
            a.scope,
            a.purpose,
            _local(a.valid_from),
            _local(a.valid_until),
            a.state(now),
            a.granted_by.email,
            _local(a.granted_at),
            _local(a.ended_at),
            a.end_reason,
            a.renewed_from.number if a.renewed_from else "",
            a.digest,
        ]


def access_log_csv_rows(qs: QuerySet[AccessLog]) -> Iterator[list[Any]]:
    for log in qs.iterator(chunk_size=2000):
        yield [
            _local(log.at),
            log.enterprise.uscc,
            log.enterprise.name,
            log.user.email,
            log.role,
            log.bank.name if log.bank else "",
            log.scope,
            log.purpose,
            log.reason,
            log.authorization.number if log.authorization else "",
            log.path,
            log.client_ip or "",
            log.ledger_seq or "",
        ]
