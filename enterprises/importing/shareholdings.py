"""Import of shareholdings (股东出资): holder (enterprise or natural person) → target enterprise.

Upsert by (holder, target). Resident IDs are validated by their check digit and only their salted
hash and masked form are kept. Both enterprises must already be in the registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises import resident_id
from enterprises.importing.records import RowChecks, RowError
from enterprises.importing.run import ImportResult, check_header
from enterprises.importing.sources import Source
from enterprises.models import Enterprise, Person, Shareholding
from enterprises.persons import person_id_hash, person_mask

COLUMNS = [
    "holder_type",
    "holder_uscc",
    "holder_person_id",
    "holder_name",
    "target_uscc",
    "share_percent",
    "subscribed_capital",
    "as_of",
]
REQUIRED = ["holder_type", "target_uscc", "share_percent"]
MAX_LENGTH = {"holder_name": 100}
HUNDRED = Decimal("100")
CHUNK = 2000


def _validate(number: int, raw: dict[str, str], checks: RowChecks) -> dict[str, Any] | None:
    v = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    checks.present(v, REQUIRED, MAX_LENGTH)
    kind = v["holder_type"].lower()
    kind = {"企业": "enterprise", "自然人": "person"}.get(kind, kind)
    holder_uscc = person_id = ""
    if kind == "enterprise":
        if not v["holder_uscc"]:
            checks.fail("holder_uscc", "required", _("企业股东须填写 holder_uscc"))
        else:
            holder_uscc = checks.uscc(v["holder_uscc"], "holder_uscc")
    elif kind == "person":
        if not v["holder_person_id"]:
            checks.fail(
                "holder_person_id", "required", _("自然人股东须填写身份证号 holder_person_id")
            )
        else:
            try:
                person_id = resident_id.validate(v["holder_person_id"])
            except ValueError as exc:
                checks.fail("holder_person_id", "invalid_resident_id", str(exc))
        if not v["holder_name"]:
            checks.fail("holder_name", "required", _("自然人股东须填写姓名 holder_name"))
    elif kind:
        checks.fail(
            "holder_type",
            "invalid_choice",
            _("股东类型应为 enterprise 或 person，实际为“%(value)s”")
            % {"value": v["holder_type"][:30]},
        )
    target = checks.uscc(v["target_uscc"], "target_uscc")
    if holder_uscc and holder_uscc == target:
        checks.fail("holder_uscc", "self_holding", _("企业不能持有自身股份"))
    share = checks.amount(v["share_percent"], "share_percent")
    if share is not None and not (Decimal(0) < share <= HUNDRED):
        checks.fail("share_percent", "out_of_range", _("持股比例应大于 0 且不超过 100"))
    capital = checks.amount(v["subscribed_capital"], "subscribed_capital")
    as_of = checks.date(v["as_of"], "as_of")
    if checks.errors:
        return None
    assert share is not None
    return {
        "kind": kind,
        "holder_uscc": holder_uscc,
        "person_id": person_id,
        "holder_name": v["holder_name"],
        "target_uscc": target,
        "share_percent": share.quantize(Decimal("0.0001")),
        "subscribed_capital": capital,
        "as_of": as_of,
    }


def import_shareholdings(
    source: Source, *, dry_run: bool = False, progress: Callable[[int], None] | None = None
) -> ImportResult:
    result = ImportResult(warnings=check_header(source, required=REQUIRED, known=COLUMNS))
    today = timezone.localdate()
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple[str, str], int] = {}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for count, row in enumerate(source.rows, start=1):
        if progress and count % 1000 == 0:
            progress(count)
        if row.problem is not None:
            result.errors.append(RowError(row.number, "", *row.problem))
            result.rejected += 1
            continue
        checks = RowChecks(row.number, today)
        clean = _validate(row.number, row.values, checks)
        if clean is not None:
            holder = clean["holder_uscc"] or person_id_hash(clean["person_id"])
            key = (holder, clean["target_uscc"])
            if key in seen:
                checks.fail(
                    "holder_uscc" if clean["holder_uscc"] else "holder_person_id",
                    "duplicate_in_file",
                    _("与第 %(row)d 行的股东和被投资企业重复") % {"row": seen[key]},
                )
            elif totals[clean["target_uscc"]] + clean["share_percent"] > HUNDRED:
                checks.fail(
                    "share_percent",
                    "shares_exceed_100",
                    _("%(target)s 在本文件中的持股比例合计超过 100%%")
                    % {"target": clean["target_uscc"]},
                )
            else:
                seen[key] = row.number
                totals[clean["target_uscc"]] += clean["share_percent"]
        if checks.errors:
            result.errors.extend(checks.errors)
            result.rejected += 1
            continue
        assert clean is not None
        rows.append((row.number, clean))
    with transaction.atomic():
        for start in range(0, len(rows), CHUNK):
            _upsert(rows[start : start + CHUNK], result)
        if dry_run:
            transaction.set_rollback(True)
        elif result.created or result.updated:
            transaction.on_commit(_graph_changed)
    return result


def _graph_changed() -> None:
    from enterprises.graph import bump_graph_version

    bump_graph_version()


def _upsert(rows: list[tuple[int, dict[str, Any]]], result: ImportResult) -> None:
    codes = {r["target_uscc"] for _, r in rows} | {
        r["holder_uscc"] for _, r in rows if r["holder_uscc"]
    }
    enterprise_ids = dict(Enterprise.objects.filter(uscc__in=codes).values_list("uscc", "id"))
    people = {person_id_hash(r["person_id"]): r for _, r in rows if r["person_id"]}
    person_ids = dict(Person.objects.filter(id_hash__in=people).values_list("id_hash", "id"))
    new_people = [
        Person(id_hash=h, id_masked=person_mask(r["person_id"]), name=r["holder_name"])
        for h, r in people.items()
        if h not in person_ids
    ]
    for created in Person.objects.bulk_create(new_people, batch_size=1000):
        person_ids[created.id_hash] = created.pk
    accepted: list[tuple[dict[str, Any], int | None, int | None, int]] = []
    for number, r in rows:
        target = enterprise_ids.get(r["target_uscc"])
        holder_enterprise = enterprise_ids.get(r["holder_uscc"]) if r["holder_uscc"] else None
        unknown = [
            (field, code)
            for field, code, found in (
                ("target_uscc", r["target_uscc"], target),
                ("holder_uscc", r["holder_uscc"], holder_enterprise if r["holder_uscc"] else 0),
            )
            if found is None
        ]
        if unknown:
            for field, code in unknown:
                result.errors.append(
                    RowError(
                        number,
                        field,
                        "unknown_enterprise",
                        _("企业 %(code)s 尚未登记，请先导入企业登记信息") % {"code": code},
                    )
                )
            result.rejected += 1
            continue
        assert target is not None
        person = person_ids[person_id_hash(r["person_id"])] if r["person_id"] else None
        accepted.append((r, holder_enterprise, person, target))
    existing = {
        (s.holder_enterprise_id, s.holder_person_id, s.target_id): s
        for s in Shareholding.objects.filter(target_id__in={a[3] for a in accepted})
    }
    new: list[Shareholding] = []
    changed: list[Shareholding] = []
    for r, holder_enterprise, person, target in accepted:
        values = {
            "share_percent": r["share_percent"],
            "subscribed_capital": r["subscribed_capital"],
            "as_of": r["as_of"],
        }
        current = existing.get((holder_enterprise, person, target))
        if current is None:
            new.append(
                Shareholding(
                    holder_enterprise_id=holder_enterprise,
                    holder_person_id=person,
                    target_id=target,
                    source="import",
                    **values,
                )
            )
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            changed.append(current)
        else:
            result.unchanged += 1
    Shareholding.objects.bulk_create(new, batch_size=1000)
    Shareholding.objects.bulk_update(
        changed, ["share_percent", "subscribed_capital", "as_of"], batch_size=500
    )
    result.created += len(new)
    result.updated += len(changed)
