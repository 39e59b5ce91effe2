"""Import of the enterprise registry (登记信息): upsert by USCC, per-row errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises import reference, resident_id
from enterprises.importing.records import RowChecks, RowError
from enterprises.importing.run import ImportResult, check_header
from enterprises.importing.sources import Source
from enterprises.importing.writer import link_orphan_records
from enterprises.models import Enterprise, EnterpriseStatus
from enterprises.persons import link_legal_representatives
from enterprises.scoring import records_changed

COLUMNS = [
    "uscc",
    "name",
    "established_date",
    "registered_capital",
    "industry_code",
    "town",
    "status",
    "legal_rep_name",
    "legal_rep_id",
    "address",
    "phone",
]
REQUIRED = ["uscc", "name"]
FIELDS = [
    "name",
    "region_code",
    "town",
    "industry_section",
    "industry_division",
    "registered_capital",
    "established_date",
    "status",
    "legal_rep_name",
    "legal_rep_id",
    "address",
    "phone",
]
_STATUS = {
    "存续": "active",
    "在业": "active",
    "开业": "active",
    "吊销": "revoked",
    "注销": "cancelled",
    "迁出": "moved_out",
} | {v: v for v in EnterpriseStatus.values}
MAX_LENGTH = {"name": 200, "legal_rep_name": 100, "address": 300, "phone": 30}
CHUNK = 2000


def validate_enterprise_row(
    number: int, raw: dict[str, str], today: date, seen: dict[str, int]
) -> tuple[dict[str, Any] | None, list[RowError]]:
    checks = RowChecks(number, today)
    fail = checks.fail
    v = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    checks.present(v, REQUIRED, MAX_LENGTH)
    code = checks.uscc(v["uscc"])
    if code in seen:
        fail(
            "uscc",
            "duplicate_in_file",
            _("与第 %(row)d 行的统一社会信用代码重复") % {"row": seen[code]},
        )
    established = checks.date(v["established_date"], "established_date")
    capital = checks.amount(v["registered_capital"], "registered_capital")
    section = division = ""
    industry = v["industry_code"].upper()
    if industry:
        if len(industry) == 1 and industry in reference.INDUSTRY_SECTIONS:
            section = industry
        else:
            digits = industry.lstrip("ABCDEFGHIJKLMNOPQRST") if industry[:1].isalpha() else industry
            try:
                section = reference.section_of_division(digits[:2])
                division = digits[:2]
            except ValueError:
                fail(
                    "industry_code",
                    "invalid_choice",
                    _("行业代码“%(value)s”不在 GB/T 4754-2017 中")
                    % {"value": v["industry_code"][:20]},
                )
    town = ""
    if v["town"]:
        try:
            town = reference.town_by_name(v["town"])
        except ValueError:
            fail(
                "town",
                "invalid_choice",
                _("未知的镇街/园区“%(value)s”") % {"value": v["town"][:50]},
            )
    status = EnterpriseStatus.ACTIVE.value
    if v["status"]:
        status = _STATUS.get(v["status"].lower(), "")
        if not status:
            fail(
                "status",
                "invalid_choice",
                _("登记状态应为 存续/吊销/注销/迁出，实际为“%(value)s”")
                % {"value": v["status"][:50]},
            )
    rep_id = ""
    if v["legal_rep_id"]:
        try:
            rep_id = resident_id.validate(v["legal_rep_id"])
        except ValueError as exc:
            # the message never repeats the number itself
            fail("legal_rep_id", "invalid_resident_id", str(exc))
    if checks.errors:
        return None, checks.errors
    seen[code] = number
    return {
        "uscc": code,
        "name": v["name"],
        "region_code": code[2:8],
        "town": town,
        "industry_section": section,
        "industry_division": division,
        "registered_capital": capital,
        "established_date": established,
        "status": status,
        "legal_rep_name": v["legal_rep_name"],
        "legal_rep_id": rep_id,
        "address": v["address"],
        "phone": v["phone"],
    }, []


def import_enterprises(
    source: Source, *, dry_run: bool = False, progress: Callable[[int], None] | None = None
) -> ImportResult:
    result = ImportResult(warnings=check_header(source, required=REQUIRED, known=COLUMNS))
    today = timezone.localdate()
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    with transaction.atomic():
        for count, row in enumerate(source.rows, start=1):
            if progress and count % 1000 == 0:
                progress(count)
            if row.problem is not None:
                result.errors.append(RowError(row.number, "", *row.problem))
                result.rejected += 1
                continue
            clean, errors = validate_enterprise_row(row.number, row.values, today, seen)
            if clean is None:
                result.errors.extend(errors)
                result.rejected += 1
                continue
            pending.append(clean)
            if len(pending) >= CHUNK:
                _upsert(pending, result)
                pending = []
        _upsert(pending, result)
        if dry_run:
            transaction.set_rollback(True)
        elif result.created or result.updated:
            transaction.on_commit(_graph_changed)
    return result


def _graph_changed() -> None:
    from enterprises.graph import bump_graph_version

    bump_graph_version()


def _upsert(rows: list[dict[str, Any]], result: ImportResult) -> None:
    if not rows:
        return
    existing = {e.uscc: e for e in Enterprise.objects.filter(uscc__in=[r["uscc"] for r in rows])}
    new: list[Enterprise] = []
    changed: list[Enterprise] = []
    for row in rows:
        current = existing.get(row["uscc"])
        if current is None:
            new.append(Enterprise(**row))
            continue
        differs = [f for f in FIELDS if getattr(current, f) != row[f]]
        if not differs:
            result.unchanged += 1
            continue
        for f in FIELDS:
            setattr(current, f, row[f])
        current.updated_at = timezone.now()
        changed.append(current)
    Enterprise.objects.bulk_create(new, batch_size=1000)
    Enterprise.objects.bulk_update(changed, [*FIELDS, "updated_at"], batch_size=500)
    result.created += len(new)
    result.updated += len(changed)
    if new:
        link_orphan_records([e.uscc for e in new])
    records_changed({e.pk for e in (*new, *changed)})
    # the legal representative is a key-personnel link in the graph (version bumped at commit)
    link_legal_representatives(
        [(e.pk, e.legal_rep_id, e.legal_rep_name) for e in (*new, *changed) if e.legal_rep_id]
    )
