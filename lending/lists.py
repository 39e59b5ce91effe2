"""Recommended lists (推荐清单): criteria, set-based generation, review, approval (with the
national push written in the same transaction), allocation to banks and the banks' feedback.

Generation is one `INSERT … SELECT` over the registry (PostgreSQL and SQLite alike), so a city
of a million enterprises is screened by the database in seconds and never loops over ORM rows.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import Bank, BankMembership
from enterprises import reference
from enterprises.models import (
    Authorization,
    AuthorizationPurpose,
    AuthorizationStatus,
    CreditRecord,
    Enterprise,
    EnterpriseGrade,
    EnterpriseStatus,
    PenaltyClass,
    RecordStatus,
    RecordType,
)
from enterprises.uscc import CHARSET
from lending.eligibility import GRADE_ORDER, SERIOUS_TYPES
from lending.models import (
    ApplicationKind,
    ApplicationStatus,
    DeclineReason,
    DeliveryStatus,
    FeedbackStatus,
    LoanApplication,
    NationalDelivery,
    NeedEvidence,
    RecommendationCriteria,
    RecommendationEntry,
    RecommendationEvent,
    RecommendationList,
)
from lending.models import RecommendationListStatus as S
from xinyidai.core import moves
from xinyidai.core.audit import audit
from xinyidai.core.errors import DomainError, NotFound
from xinyidai.core.errors import PermissionDenied as DomainPermissionDenied
from xinyidai.core.workdays import BEIJING
from xinyidai.permissions import Role, bank_membership_of, has_role

OFFICE_ROLES = (Role.CREDIT_OFFICE, Role.SUPERUSER)
MAX_YEARS = 20
MAX_PERIOD_DAYS = 366
OPEN_DEMAND = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.UNDER_REVIEW,
)

# One table of allowed moves on a list: move → (statuses it starts from, status it leads to).
# An empty target keeps the status (review and delivery actions).
LIST_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "generate": (frozenset({S.DRAFT, S.GENERATED}), S.GENERATED),
    "remove": (frozenset({S.GENERATED}), ""),
    "restore": (frozenset({S.GENERATED}), ""),
    "approve": (frozenset({S.GENERATED}), S.APPROVED),
    "cancel": (frozenset({S.DRAFT, S.GENERATED}), S.CANCELLED),
    "allocate": (frozenset({S.APPROVED}), ""),
    "push": (frozenset({S.APPROVED}), ""),
    "repush": (frozenset({S.APPROVED}), ""),
}
F = FeedbackStatus
# A bank's feedback on one allocated entry: move → (feedback it starts from, feedback it leads to)
FEEDBACK_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "contact": (frozenset({F.PENDING}), F.CONTACTED),
    "grant": (frozenset({F.PENDING, F.CONTACTED}), F.GRANTED),
    "decline": (frozenset({F.PENDING, F.CONTACTED}), F.DECLINED),
}


def is_office(user: Any) -> bool:
    return has_role(user, *OFFICE_ROLES)


def _require_office(user: Any) -> None:
    if not is_office(user):
        raise DomainPermissionDenied("forbidden", _("只有信用办可以管理推荐清单。"))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _field_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError("invalid_criteria", first, detail=errors)


# ---------------------------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------------------------
CRITERIA_FIELDS = (
    "name",
    "description",
    "min_grade",
    "min_years",
    "penalty_years",
    "serious_years",
    "require_premises",
    "need_demand_only",
    "require_opt_in",
    "towns",
    "industries",
    "is_active",
)


def _check_criteria(data: dict[str, Any], *, instance: RecommendationCriteria | None) -> None:
    errors: dict[str, list[str]] = {}
    name = str(data.get("name", "")).strip()
    if not name:
        errors["name"] = [_("请填写名称")]
    elif (
        RecommendationCriteria.objects.filter(name=name)
        .exclude(pk=instance.pk if instance else 0)
        .exists()
    ):
        errors["name"] = [_("已有同名的推荐条件")]
    if data.get("min_grade") not in GRADE_ORDER:
        errors["min_grade"] = [_("信用等级须为 A、B、C 或 D")]
    if not 0 <= int(data.get("min_years", 0)) <= MAX_YEARS:
        errors["min_years"] = [_("成立年限须在 0 至 %(n)d 年之间") % {"n": MAX_YEARS}]
    for name_ in ("penalty_years", "serious_years"):
        if not 1 <= int(data.get(name_, 0)) <= MAX_YEARS:
            errors[name_] = [_("回溯年限须在 1 至 %(n)d 年之间") % {"n": MAX_YEARS}]
    unknown_towns = [t for t in data.get("towns") or [] if t not in reference.TOWN_NAMES]
    if unknown_towns:
        errors["towns"] = [_("未知的镇街：%(v)s") % {"v": "、".join(unknown_towns)}]
    unknown = [s for s in data.get("industries") or [] if s not in reference.INDUSTRY_SECTIONS]
    if unknown:
        errors["industries"] = [_("未知的行业门类：%(v)s") % {"v": "、".join(unknown)}]
    _field_errors(errors)


def _criteria_data(fields: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    data = {**base, **{k: v for k, v in fields.items() if k in CRITERIA_FIELDS}}
    data["name"] = str(data.get("name", "")).strip()
    data["towns"] = sorted(set(data.get("towns") or []))
    data["industries"] = sorted(set(data.get("industries") or []))
    return data


@transaction.atomic
def criteria_create(*, actor: Any, **fields: Any) -> RecommendationCriteria:
    _require_office(actor)
    defaults = {
        f.name: f.get_default()
        for f in RecommendationCriteria._meta.concrete_fields
        if f.name in CRITERIA_FIELDS
    }
    data = _criteria_data(fields, defaults)
    _check_criteria(data, instance=None)
    criteria = RecommendationCriteria.objects.create(created_by=actor, **data)
    audit(actor=actor, action="criteria.create", obj=criteria, data=criteria_snapshot(criteria))
    return criteria


@transaction.atomic
def criteria_update(*, actor: Any, criteria_id: int, **fields: Any) -> RecommendationCriteria:
    """Edit a rule: its version goes up; lists generated before keep the snapshot they used."""
    _require_office(actor)
    criteria = RecommendationCriteria.objects.select_for_update().filter(pk=criteria_id).first()
    if criteria is None:
        raise NotFound("criteria_not_found", _("推荐条件不存在"))
    data = _criteria_data(fields, {name: getattr(criteria, name) for name in CRITERIA_FIELDS})
    _check_criteria(data, instance=criteria)
    changed = [name for name in CRITERIA_FIELDS if getattr(criteria, name) != data[name]]
    if not changed:
        return criteria
    for name in changed:
        setattr(criteria, name, data[name])
    criteria.version += 1
    criteria.updated_at = timezone.now()
    criteria.save(update_fields=[*changed, "version", "updated_at"])
    audit(actor=actor, action="criteria.update", obj=criteria, data={"changed": changed})
    return criteria


def criteria_snapshot(criteria: RecommendationCriteria) -> dict[str, Any]:
    return {
        "id": criteria.pk,
        "name": criteria.name,
        "version": criteria.version,
        "min_grade": criteria.min_grade,
        "min_years": criteria.min_years,
        "penalty_years": criteria.penalty_years,
        "serious_years": criteria.serious_years,
        "require_premises": criteria.require_premises,
        "need_demand_only": criteria.need_demand_only,
        "require_opt_in": criteria.require_opt_in,
        "towns": list(criteria.towns),
        "industries": list(criteria.industries),
    }


# ---------------------------------------------------------------------------------------------
# Lists: create, generate (set-based), review, approve, cancel
# ---------------------------------------------------------------------------------------------
def new_number(today: date | None = None) -> str:
    day = today or timezone.localdate()
    return f"TJ{day:%Y%m%d}-" + "".join(secrets.choice(CHARSET) for _ in range(8))


def _event(
    reclist: RecommendationList,
    move: str,
    *,
    actor: Any,
    old: str = "",
    new: str = "",
    reason: str = "",
    entry: RecommendationEntry | None = None,
    at: datetime | None = None,
) -> RecommendationEvent:
    return RecommendationEvent.objects.create(
        list=reclist,
        entry=entry,
        uscc=entry.uscc if entry else "",
        move=move,
        old_status=old,
        new_status=new,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=str(reason)[:300],
        at=at or timezone.now(),
    )


def _locked(list_id: int) -> RecommendationList:
    reclist = (
        RecommendationList.objects.select_for_update(of=("self",))
        .select_related("criteria")
        .filter(pk=list_id)
        .first()
    )
    if reclist is None:
        raise NotFound("list_not_found", _("推荐清单不存在"))
    return reclist


def _require_move(reclist: RecommendationList, move: str) -> None:
    moves.require(
        LIST_MOVES,
        move,
        reclist.status,
        _("清单状态为「%(status)s」，不能执行该操作。") % {"status": reclist.get_status_display()},
    )


def allowed_moves(reclist: RecommendationList) -> list[str]:
    return moves.allowed(LIST_MOVES, reclist.status)


@transaction.atomic
def list_create(
    *, actor: Any, criteria_id: int, title: str, period_start: date, period_end: date
) -> RecommendationList:
    """A draft list for a period (期间: the applications that count as a financing need)."""
    _require_office(actor)
    criteria = RecommendationCriteria.objects.filter(pk=criteria_id, is_active=True).first()
    if criteria is None:
        raise DomainError(
            "invalid_list", _("请选择启用中的推荐条件"), detail={"criteria": [_("推荐条件不可用")]}
        )
    errors: dict[str, list[str]] = {}
    if not str(title).strip():
        errors["title"] = [_("请填写清单名称")]
    if period_end < period_start:
        errors["period_end"] = [_("截止日期不能早于起始日期")]
    elif (period_end - period_start).days >= MAX_PERIOD_DAYS:
        errors["period_end"] = [_("期间不能超过 %(n)d 天") % {"n": MAX_PERIOD_DAYS}]
    if errors:
        raise DomainError("invalid_list", next(iter(errors.values()))[0], detail=errors)
    reclist = RecommendationList.objects.create(
        number=new_number(),
        title=str(title).strip()[:200],
        criteria=criteria,
        criteria_snapshot=criteria_snapshot(criteria),
        period_start=period_start,
        period_end=period_end,
        created_by=actor,
    )
    _event(reclist, "create", actor=actor, new=S.DRAFT)
    audit(actor=actor, action="reclist.create", obj=reclist, data={"criteria": criteria.pk})
    return reclist


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(values: list[str]) -> tuple[str, list[str]]:
    return "(" + ", ".join(["%s"] * len(values)) + ")", list(values)


def generation_sql(
    reclist: RecommendationList, snapshot: dict[str, Any], *, now: datetime
) -> tuple[str, list[Any]]:
    """The one statement that screens the registry into the list's entries."""
    today = timezone.localtime(now).date()
    grades = [g for g, rank in GRADE_ORDER.items() if rank >= GRADE_ORDER[snapshot["min_grade"]]]
    period_from = datetime.combine(reclist.period_start, time.min, tzinfo=BEIJING)
    period_to = datetime.combine(reclist.period_end + timedelta(days=1), time.min, tzinfo=BEIJING)
    ent, grade, record = _table(Enterprise), _table(EnterpriseGrade), _table(CreditRecord)
    auth, app = _table(Authorization), _table(LoanApplication)
    entry = _table(RecommendationEntry)
    params: list[Any] = []

    opt_sql = (
        f"SELECT enterprise_id, MAX(CASE WHEN grantee_bank_id IS NULL THEN 1 ELSE 0 END) "  # noqa: S608
        f"AS all_banks FROM {auth} WHERE purpose = %s AND status = %s AND valid_from <= %s "
        f"AND valid_until > %s GROUP BY enterprise_id"
    )
    params += [AuthorizationPurpose.MATCHING, AuthorizationStatus.ACTIVE, now, now]
    open_in, open_params = _in(list(OPEN_DEMAND))
    demand_sql = (
        f"SELECT DISTINCT enterprise_id FROM {app} "  # noqa: S608
        f"WHERE kind = %s AND status IN {open_in}"
    )
    params += [ApplicationKind.DEMAND, *open_params]
    applied_sql = (
        f"SELECT DISTINCT enterprise_id FROM {app} WHERE status <> %s "  # noqa: S608
        f"AND submitted_at >= %s AND submitted_at < %s"
    )
    params += [ApplicationStatus.WITHDRAWN, period_from, period_to]

    where = ["e.status = %s", "g.is_current = %s"]
    where_params: list[Any] = [EnterpriseStatus.ACTIVE, True]
    grade_in, grade_params = _in(grades)
    where.append(f"g.grade IN {grade_in}")
    where_params += grade_params
    if snapshot["min_years"]:
        where.append("e.established_date IS NOT NULL AND e.established_date <= %s")
        where_params.append(_years_before(today, snapshot["min_years"]))
    if snapshot["require_premises"]:
        where.append("e.address <> %s")
        where_params.append("")
    if snapshot["towns"]:
        sql, values = _in(snapshot["towns"])
        where.append(f"e.town IN {sql}")
        where_params += values
    if snapshot["industries"]:
        sql, values = _in(snapshot["industries"])
        where.append(f"e.industry_section IN {sql}")
        where_params += values
    serious_in, serious_params = _in(list(SERIOUS_TYPES))
    where.append(
        f"NOT EXISTS (SELECT 1 FROM {record} r WHERE r.enterprise_id = e.id "  # noqa: S608
        f"AND r.record_type IN {serious_in} AND r.status <> %s AND r.decision_date >= %s)"
    )
    where_params += [
        *serious_params,
        RecordStatus.REPAIRED,
        _years_before(today, snapshot["serious_years"]),
    ]
    where.append(
        f"NOT EXISTS (SELECT 1 FROM {record} r WHERE r.enterprise_id = e.id AND ("  # noqa: S608
        f"(r.record_type = %s AND r.penalty_class = %s AND r.status <> %s "
        f"AND r.decision_date >= %s) OR (r.record_type = %s AND r.status = %s)))"
    )
    where_params += [
        RecordType.PENALTY,
        PenaltyClass.SERIOUS,
        RecordStatus.REPAIRED,
        _years_before(today, snapshot["penalty_years"]),
        RecordType.ABNORMAL_OPERATION,
        RecordStatus.ACTIVE,
    ]
    need = ["d.enterprise_id IS NOT NULL", "a.enterprise_id IS NOT NULL"]
    if not snapshot["need_demand_only"]:
        need.append("o.enterprise_id IS NOT NULL")
    where.append("(" + " OR ".join(need) + ")")
    if snapshot["require_opt_in"]:
        where.append("o.enterprise_id IS NOT NULL")

    select = (
        "SELECT %s, ROW_NUMBER() OVER (ORDER BY g.score DESC, e.id), e.id, e.uscc, e.name, "
        "e.town, e.industry_section, g.grade, g.score, e.established_date, "
        "CASE WHEN d.enterprise_id IS NOT NULL THEN %s "
        "WHEN a.enterprise_id IS NOT NULL THEN %s ELSE %s END, "
        "CASE WHEN o.all_banks = 1 THEN %s WHEN o.enterprise_id IS NOT NULL THEN %s ELSE %s END, "
        "%s, %s, %s, %s, %s"
    )
    select_params: list[Any] = [
        reclist.pk,
        NeedEvidence.DEMAND,
        NeedEvidence.APPLICATION,
        NeedEvidence.OPT_IN,
        "all",
        "banks",
        "",
        False,
        "",
        FeedbackStatus.PENDING,
        "",
        "",
    ]
    sql = (
        f"INSERT INTO {entry} (list_id, seq, enterprise_id, uscc, name, town, industry_section, "
        f"grade, score, established, need, opt_in, removed, removed_reason, feedback, "
        f"decline_reason, feedback_note) "
        f"{select} FROM {ent} e JOIN {grade} g ON g.enterprise_id = e.id "
        f"LEFT JOIN ({opt_sql}) o ON o.enterprise_id = e.id "
        f"LEFT JOIN ({demand_sql}) d ON d.enterprise_id = e.id "
        f"LEFT JOIN ({applied_sql}) a ON a.enterprise_id = e.id "
        f"WHERE " + " AND ".join(where)
    )
    return sql, [*select_params, *params, *where_params]


@transaction.atomic
def list_generate(*, actor: Any, list_id: int) -> RecommendationList:
    """Screen the registry into the list (again): the entries are replaced in one transaction,
    with the criteria as they are now (their snapshot is kept on the list). Enterprises removed
    in an earlier review stay removed, with their reason, if they qualify again."""
    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "generate")
    now = timezone.now()
    old = reclist.status
    kept = list(
        RecommendationEntry.objects.filter(list=reclist, removed=True).values(
            "enterprise_id", "removed_reason", "removed_by_id", "removed_at"
        )
    )
    RecommendationEvent.objects.filter(list=reclist, entry__isnull=False).update(entry=None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table(RecommendationEntry)} WHERE list_id = %s",  # noqa: S608
            [reclist.pk],
        )
        snapshot = criteria_snapshot(reclist.criteria)
        sql, params = generation_sql(reclist, snapshot, now=now)
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    # one UPDATE per distinct removal (reason, who, when), in slices of 5,000 enterprises
    removals: dict[tuple[str, int | None, datetime | None], list[int]] = {}
    for row in kept:
        key = (row["removed_reason"], row["removed_by_id"], row["removed_at"])
        removals.setdefault(key, []).append(row["enterprise_id"])
    for (reason, by_id, at), firm_ids in removals.items():
        for start in range(0, len(firm_ids), 5000):
            RecommendationEntry.objects.filter(
                list=reclist, enterprise_id__in=firm_ids[start : start + 5000]
            ).update(removed=True, removed_reason=reason, removed_by_id=by_id, removed_at=at)
    reclist.criteria_snapshot = {**snapshot, "as_of": now.isoformat()}
    reclist.entry_count = inserted
    reclist.status = S.GENERATED
    reclist.generated_at = now
    reclist.save(update_fields=["criteria_snapshot", "entry_count", "status", "generated_at"])
    _event(
        reclist,
        "generate",
        actor=actor,
        old=old,
        new=reclist.status,
        reason=_("入选 %(n)d 家（条件「%(name)s」第 %(v)d 版）")
        % {"n": inserted, "name": snapshot["name"], "v": snapshot["version"]},
        at=now,
    )
    audit(actor=actor, action="reclist.generate", obj=reclist, data={"entries": inserted})
    return reclist


def _entry_of(reclist: RecommendationList, entry_id: int) -> RecommendationEntry:
    entry = (
        RecommendationEntry.objects.select_for_update().filter(pk=entry_id, list=reclist).first()
    )
    if entry is None:
        raise NotFound("entry_not_found", _("清单中没有该企业"))
    return entry


@transaction.atomic
def entry_remove(*, actor: Any, list_id: int, entry_id: int, reason: str) -> RecommendationEntry:
    """Take an enterprise off a list under review, with the reason (kept, with who and when)."""
    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "remove")
    entry = _entry_of(reclist, entry_id)
    reason = str(reason).strip()
    if not reason:
        raise DomainError(
            "reason_required", _("请填写移出原因"), detail={"reason": [_("请填写移出原因")]}
        )
    if entry.removed:
        raise moves_conflict(_("该企业已移出清单"), "removed", ["restore"])
    now = timezone.now()
    entry.removed, entry.removed_reason = True, reason[:300]
    entry.removed_by, entry.removed_at = actor, now
    entry.save(update_fields=["removed", "removed_reason", "removed_by", "removed_at"])
    _event(reclist, "remove", actor=actor, entry=entry, reason=reason, old="listed", new="removed")
    return entry


@transaction.atomic
def entry_restore(
    *, actor: Any, list_id: int, entry_id: int, reason: str = ""
) -> RecommendationEntry:
    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "restore")
    entry = _entry_of(reclist, entry_id)
    if not entry.removed:
        raise moves_conflict(_("该企业在清单中，无需恢复"), "listed", ["remove"])
    entry.removed, entry.removed_reason, entry.removed_by, entry.removed_at = False, "", None, None
    entry.save(update_fields=["removed", "removed_reason", "removed_by", "removed_at"])
    _event(reclist, "restore", actor=actor, entry=entry, reason=reason, old="removed", new="listed")
    return entry


def moves_conflict(message: str, status: str, allowed: list[str]) -> DomainError:
    from xinyidai.core.errors import Conflict

    return Conflict("move_not_allowed", message, detail={"status": status, "allowed": allowed})


@transaction.atomic
def list_approve(*, actor: Any, list_id: int, reason: str = "") -> RecommendationList:
    """Approve a reviewed list (审定). The national push is written here, in this transaction:
    one outbox row per chunk of listed entries; a push task is queued after the commit."""
    from lending import push

    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "approve")
    seqs = list(
        RecommendationEntry.objects.filter(list=reclist, removed=False)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    if not seqs:
        raise DomainError("empty_list", _("清单中没有企业，不能审定"))
    now = timezone.now()
    old = reclist.status
    reclist.status, reclist.approved_at, reclist.approved_by = S.APPROVED, now, actor
    reclist.save(update_fields=["status", "approved_at", "approved_by"])
    chunks = push.create_deliveries(reclist, seqs, now=now)
    _event(
        reclist,
        "approve",
        actor=actor,
        old=old,
        new=reclist.status,
        reason=reason or _("%(n)d 家企业，分 %(c)d 片推送国家平台") % {"n": len(seqs), "c": chunks},
        at=now,
    )
    audit(actor=actor, action="reclist.approve", obj=reclist, data={"entries": len(seqs)})
    push.queue_push(reclist.pk)
    return reclist


@transaction.atomic
def list_cancel(*, actor: Any, list_id: int, reason: str) -> RecommendationList:
    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "cancel")
    if not str(reason).strip():
        raise DomainError(
            "reason_required", _("请填写作废原因"), detail={"reason": [_("请填写作废原因")]}
        )
    old = reclist.status
    reclist.status = S.CANCELLED
    reclist.save(update_fields=["status"])
    _event(reclist, "cancel", actor=actor, old=old, new=reclist.status, reason=reason)
    audit(actor=actor, action="reclist.cancel", obj=reclist, data={"reason": reason[:300]})
    return reclist


# ---------------------------------------------------------------------------------------------
# Allocation to banks (round robin in list order, among the chosen banks an enterprise consented
# to) and the banks' feedback
# ---------------------------------------------------------------------------------------------
@dataclass
class Allocation:
    allocated: Counter[int] = field(default_factory=Counter)
    without_consent: int = 0
    already_allocated: int = 0

    @property
    def total(self) -> int:
        return sum(self.allocated.values())


def _consents(reclist: RecommendationList, now: datetime) -> tuple[set[int], dict[int, set[int]]]:
    """Enterprises on the list with a matching authorisation in force now: to all banks, and
    to named banks."""
    rows = Authorization.objects.filter(
        enterprise_id__in=RecommendationEntry.objects.filter(list=reclist).values("enterprise_id"),
        purpose=AuthorizationPurpose.MATCHING,
        status=AuthorizationStatus.ACTIVE,
        valid_from__lte=now,
        valid_until__gt=now,
    ).values_list("enterprise_id", "grantee_bank_id")
    all_banks: set[int] = set()
    named: dict[int, set[int]] = {}
    for enterprise_id, bank_id in rows:
        if bank_id is None:
            all_banks.add(enterprise_id)
        else:
            named.setdefault(enterprise_id, set()).add(bank_id)
    return all_banks, named


@transaction.atomic
def list_allocate(
    *,
    actor: Any,
    list_id: int,
    bank_ids: list[int],
    towns: list[str] | None = None,
    industries: list[str] | None = None,
    reallocate: bool = False,
) -> Allocation:
    """Allocate the approved list's enterprises (optionally only some towns or industries) to
    banks, round robin in list order (best score first) over the banks in the order given. An
    enterprise goes only to a bank its matching authorisation covers (all banks, or that bank
    by name); one without is skipped. With `reallocate`, entries already allocated but without
    feedback are dealt again."""
    _require_office(actor)
    reclist = _locked(list_id)
    _require_move(reclist, "allocate")
    # in the order chosen (the first bank gets the best enterprise)
    banks = list(dict.fromkeys(bank_ids))
    if not banks or Bank.objects.filter(pk__in=banks).count() != len(banks):
        raise DomainError(
            "invalid_allocation", _("请选择对接银行"), detail={"banks": [_("请选择有效的银行")]}
        )
    qs = RecommendationEntry.objects.filter(list=reclist, removed=False)
    if towns:
        qs = qs.filter(town__in=towns)
    if industries:
        qs = qs.filter(industry_section__in=industries)
    result = Allocation()
    if reallocate:
        qs = qs.filter(Q(bank__isnull=True) | Q(feedback=FeedbackStatus.PENDING))
    else:
        result.already_allocated = qs.filter(bank__isnull=False).count()
        qs = qs.filter(bank__isnull=True)
    now = timezone.now()
    all_banks, named = _consents(reclist, now)
    chosen: dict[int, list[int]] = {b: [] for b in banks}
    turn = 0
    for entry_id, enterprise_id in qs.order_by("seq").values_list("pk", "enterprise_id"):
        allowed = (
            banks
            if enterprise_id in all_banks
            else [b for b in banks if b in named.get(enterprise_id, ())]
        )
        if not allowed:
            result.without_consent += 1
            continue
        for step in range(len(banks)):
            bank_id = banks[(turn + step) % len(banks)]
            if bank_id in allowed:
                chosen[bank_id].append(entry_id)
                turn = (turn + step + 1) % len(banks)
                break
    for bank_id, ids in chosen.items():
        for start in range(0, len(ids), 5000):
            RecommendationEntry.objects.filter(pk__in=ids[start : start + 5000]).update(
                bank_id=bank_id, allocated_at=now
            )
        result.allocated[bank_id] = len(ids)
    names = dict(Bank.objects.filter(pk__in=banks).values_list("pk", "name"))
    _event(
        reclist,
        "allocate",
        actor=actor,
        reason="；".join(f"{names[b]} {n}" for b, n in result.allocated.items() if n)
        + (
            _("；%(n)d 家未授权所选银行，未分配") % {"n": result.without_consent}
            if result.without_consent
            else ""
        ),
        at=now,
    )
    audit(
        actor=actor,
        action="reclist.allocate",
        obj=reclist,
        data={"banks": {str(b): n for b, n in result.allocated.items()}},
    )
    from lending import list_notices

    list_notices.allocated(reclist, {b: n for b, n in result.allocated.items() if n})
    return result


def may_give_feedback(user: Any, entry: RecommendationEntry) -> bool:
    membership = bank_membership_of(user)
    return (
        membership is not None
        and entry.bank_id is not None
        and membership.bank_id == entry.bank_id
        and entry.list.status == S.APPROVED
        and not entry.removed
    )


def feedback_moves(entry: RecommendationEntry) -> list[str]:
    return moves.allowed(FEEDBACK_MOVES, entry.feedback)


@transaction.atomic
def entry_feedback(
    *,
    actor: Any,
    entry_id: int,
    move: str,
    amount: Decimal | None = None,
    decline_reason: str = "",
    note: str = "",
) -> RecommendationEntry:
    """A bank's feedback on one enterprise allocated to it: contacted (已联系), granted with the
    amount (已授信), or declined with the reason (未授信)."""
    if move not in FEEDBACK_MOVES:
        raise NotFound("unknown_move", _("未知操作"))
    entry = (
        RecommendationEntry.objects.select_for_update(of=("self",))
        .select_related("list")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise NotFound("entry_not_found", _("清单中没有该企业"))
    if not may_give_feedback(actor, entry):
        raise DomainPermissionDenied("move_forbidden", _("该企业未分配给您的银行。"))
    moves.require(
        FEEDBACK_MOVES,
        move,
        entry.feedback,
        _("反馈状态为「%(status)s」，不能执行该操作。") % {"status": entry.get_feedback_display()},
    )
    note = str(note or "").strip()[:300]
    now = timezone.now()
    if move == "grant":
        if amount is None or amount <= 0:
            raise DomainError(
                "amount_required",
                _("请填写授信金额"),
                detail={"amount": [_("授信金额须大于 0")]},
            )
        entry.granted_amount = Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if move == "decline":
        if decline_reason not in DeclineReason.values:
            raise DomainError(
                "reason_required",
                _("请选择未授信原因"),
                detail={"decline_reason": [_("请选择未授信原因")]},
            )
        if decline_reason == DeclineReason.OTHER and not note:
            raise DomainError(
                "reason_required",
                _("选择「其他」时请填写说明"),
                detail={"note": [_("选择「其他」时请填写说明")]},
            )
        entry.decline_reason = decline_reason
    old = entry.feedback
    if entry.contacted_at is None:
        entry.contacted_at = now
    entry.feedback = FEEDBACK_MOVES[move][1]
    entry.feedback_note = note or entry.feedback_note
    entry.feedback_by, entry.feedback_at = actor, now
    entry.save(
        update_fields=[
            "feedback",
            "contacted_at",
            "granted_amount",
            "decline_reason",
            "feedback_note",
            "feedback_by",
            "feedback_at",
        ]
    )
    _event(
        entry.list, move, actor=actor, entry=entry, old=old, new=entry.feedback, reason=note, at=now
    )
    return entry


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------
def lists_visible_to(user: Any) -> QuerySet[RecommendationList]:
    """The office sees every list; nobody else sees lists (banks see their entries)."""
    qs = RecommendationList.objects.select_related("criteria", "created_by", "approved_by")
    return qs if is_office(user) else qs.none()


def entries_allocated_to(user: Any) -> QuerySet[RecommendationEntry]:
    """A bank's staff: the entries of approved lists allocated to their bank."""
    membership: BankMembership | None = bank_membership_of(user)
    qs = RecommendationEntry.objects.select_related("list", "bank")
    if membership is None:
        return qs.none()
    return qs.filter(bank_id=membership.bank_id, list__status=S.APPROVED, removed=False)


@dataclass(frozen=True)
class Counts:
    listed: int
    removed: int
    allocated: int
    feedback: dict[str, int]
    granted_amount: Decimal


def list_counts(reclist: RecommendationList) -> Counts:
    from django.db.models import Sum

    rows = (
        RecommendationEntry.objects.filter(list=reclist).values("removed").annotate(n=Count("id"))
    )
    by_removed = {r["removed"]: r["n"] for r in rows}
    active = RecommendationEntry.objects.filter(list=reclist, removed=False)
    feedback = dict(
        active.filter(bank__isnull=False).values_list("feedback").annotate(n=Count("id"))
    )
    granted = active.aggregate(total=Sum("granted_amount"))["total"] or Decimal("0")
    return Counts(
        listed=by_removed.get(False, 0),
        removed=by_removed.get(True, 0),
        allocated=active.filter(bank__isnull=False).count(),
        feedback={status: feedback.get(status, 0) for status in FeedbackStatus.values},
        granted_amount=granted,
    )


@dataclass(frozen=True)
class DeliveryState:
    """What "delivered" means for a list: every chunk confirmed by the national platform."""

    code: str  # "" (not approved), pushing, delivered, failed
    total: int
    by_status: dict[str, int]

    @property
    def delivered(self) -> int:
        return self.by_status.get(DeliveryStatus.DELIVERED, 0)

    @property
    def label(self) -> str:
        return {
            "": "",
            "pushing": _("推送中"),
            "delivered": _("已送达国家平台"),
            "failed": _("推送失败"),
        }[self.code]


def delivery_state(reclist: RecommendationList) -> DeliveryState:
    counts = dict(
        NationalDelivery.objects.filter(list=reclist).values_list("status").annotate(n=Count("id"))
    )
    total = sum(counts.values())
    if not total:
        code = ""
    elif counts.get(DeliveryStatus.DELIVERED, 0) == total:
        code = "delivered"
    elif counts.get(DeliveryStatus.GAVE_UP, 0):
        code = "failed"
    else:
        code = "pushing"
    return DeliveryState(code=code, total=total, by_status=counts)


def reasons(entry: RecommendationEntry, snapshot: dict[str, Any]) -> list[dict[str, str]]:
    """Why the enterprise qualified, one line per criterion (from the entry's snapshot and the
    criteria the list was generated with)."""
    as_of = snapshot.get("as_of", "")[:10]
    operation = _("登记状态为存续")
    if snapshot.get("min_years") and entry.established:
        operation += _("，成立于 %(d)s（要求满 %(n)d 年）") % {
            "d": entry.established.isoformat(),
            "n": snapshot["min_years"],
        }
    operation += _("；近 %(n)d 年无严重行政处罚，未列入经营异常名录") % {
        "n": snapshot.get("penalty_years", 0)
    }
    need = {
        NeedEvidence.DEMAND: _("有在办的融资需求"),
        NeedEvidence.APPLICATION: _("期间内提交过贷款申请"),
        NeedEvidence.OPT_IN: _("已授权融资对接（对接意愿）"),
    }[NeedEvidence(entry.need)]
    premises = _("有登记住所") if snapshot.get("require_premises") else _("本条件未要求登记住所")
    return [
        {"code": "operation", "label": _("依法合规经营"), "text": operation},
        {"code": "premises", "label": _("固定经营场所"), "text": premises},
        {"code": "need", "label": _("真实融资需求"), "text": need},
        {
            "code": "credit",
            "label": _("信用良好"),
            "text": _("信用等级 %(g)s（%(s)d 分），要求 %(min)s 级及以上")
            % {"g": entry.grade, "s": entry.score, "min": snapshot.get("min_grade", "")},
        },
        {
            "code": "loan_use",
            "label": _("贷款用途合法合规"),
            "text": _("近 %(n)d 年无失信被执行人、严重失信主体名单记录（截至 %(d)s）")
            % {"n": snapshot.get("serious_years", 0), "d": as_of},
        },
    ]
