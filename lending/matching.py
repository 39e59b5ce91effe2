"""Matching (融资对接): the enterprises a bank's product fits best, and the products that fit an
enterprise best — each result with its reasons.

Eligibility is the product rules of `lending.eligibility`, once: `enterprise_filter()` for a
product over the whole city, `sql_prefilter()` + `passes()` for an enterprise over the listed
products.

For a product, ranking reads `MatchProfile`, one row per active enterprise (a copy of what the
rules and the fit need, refreshed set-based by `refresh_profiles`). Only enterprises that opted
in are recommended: a `matching` authorisation in force to all banks (`opt_in_all_until`) or to
the asking bank. The fit of an enterprise for a product is an integer, credit first:

    fit = score                the credit score, 0–1000 (the grade is a band of it)
        + 20  an open financing demand whose amount and term are within the product's ranges
              (+ 5: an open demand outside them — a genuine financing need all the same)
        + 10  industry section in MATCH_PRIORITY_INDUSTRIES (the city's priority industries)
        + 5   town in MATCH_PRIORITY_TOWNS
        + round(15 × r)  r = this bank's approval rate over MATCH_APPROVAL_DAYS for applicants
              of the same industry section and grade, once MATCH_APPROVAL_MIN_DECIDED of them
              were decided

Ties: higher score, then lower enterprise id. The bonuses add at most MAX_BONUS (50), a third
of the A band: they reorder enterprises of close credit standing, they do not lift a weak one
over a strong one. Being bounded, they make the top K exact without reading the whole city:
the 2K best by score (an ordered scan of a partial score index) give a K-th best fit F, and a
row scoring below F − (the most the product's rows can gain) cannot reach F, so the fit is
computed only for the rows above that line. Two visibility sets (all banks, this bank) are
ranked apart and merged; the authorisations of the rows returned are read again, so a
revocation the profiles have not caught up with never shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import LoanProductVersion
from banks.products import listed_versions
from enterprises import reference
from enterprises.models import (
    Authorization,
    AuthorizationPurpose,
    AuthorizationStatus,
    CreditRecord,
    Enterprise,
    EnterpriseGrade,
    EnterpriseStatus,
    RecordStatus,
    RecordType,
)
from lending import eligibility
from lending.models import ApplicationKind, ApplicationStatus, LoanApplication, MatchProfile

A = ApplicationStatus
DEMAND_FITS = 20
DEMAND_OTHER = 5
PRIORITY_INDUSTRY = 10
PRIORITY_TOWN = 5
SIMILAR_MAX = 15
MAX_BONUS = DEMAND_FITS + PRIORITY_INDUSTRY + PRIORITY_TOWN + SIMILAR_MAX
# a product's fit for an enterprise (see `rank_products`)
RATE_POINTS_MAX = 50
RATE_CEILING = Decimal(8)  # % a year: no rate points from here up
PRODUCT_DEMAND_FITS = 30
PRODUCT_AMOUNT_FITS = 15
BANK_APPROVAL_MAX = 20

OPEN_DEMAND = (A.SUBMITTED, A.ACCEPTED, A.UNDER_REVIEW)
APPROVED_OR_LATER = (A.APPROVED, A.DISBURSED, A.CLOSED)
DECIDED = (*APPROVED_OR_LATER, A.REJECTED)
# an authorisation to the bank that lets it read the enterprise's data (shown unmasked)
DATA_PURPOSES = (
    AuthorizationPurpose.LOAN_APPLICATION,
    AuthorizationPurpose.PRE_LOAN,
    AuthorizationPurpose.MATCHING,
)
FILTERS = ("town", "industry", "grade", "has_demand")
WAN = Decimal(10000)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnterpriseMatch:
    enterprise_id: int
    fit: int
    grade: str
    score: int
    industry_section: str
    town: str
    scale: str
    demand_amount: Decimal | None
    demand_term: int | None
    # an authorisation in force to this bank with a data scope (loan application, pre-loan or
    # matching purpose): the bank may see who the enterprise is
    bank_authorized: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProductMatch:
    version: LoanProductVersion
    product_id: int
    name: str
    bank_id: int
    bank_name: str
    fit: int
    # the bank's approval rate (0..1, 4 places) over MATCH_APPROVAL_DAYS; None below the minimum
    approval_rate: Decimal | None
    demand_fits: bool
    reasons: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
@cache
def _priority(industries: tuple[str, ...], towns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    sections = [s.strip().upper() for s in industries if s.strip()]
    unknown = [s for s in sections if s not in reference.INDUSTRY_SECTIONS]
    if unknown:
        raise ImproperlyConfigured(f"MATCH_PRIORITY_INDUSTRIES: unknown sections {unknown}")
    codes = []
    for town in towns:
        if town.strip():
            try:
                codes.append(reference.town_by_name(town))
            except ValueError as exc:
                raise ImproperlyConfigured(f"MATCH_PRIORITY_TOWNS: {exc}") from None
    return sections, codes


def priorities() -> tuple[list[str], list[str]]:
    """(industry sections, town codes) the city gives priority to; towns may be set by code or
    by name (松山湖, 滨海湾新区)."""
    return _priority(
        tuple(settings.MATCH_PRIORITY_INDUSTRIES), tuple(settings.MATCH_PRIORITY_TOWNS)
    )


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------
def _wan(amount: Decimal) -> str:
    value = (Decimal(amount) / WAN).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
    return f"{value:f}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal(1), ROUND_HALF_UP):f}"


def _rate(approved: int, decided: int) -> Decimal:
    return (Decimal(approved) / Decimal(decided)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Profiles: one row per active enterprise, refreshed set-based
# ---------------------------------------------------------------------------------------------
_COLUMNS = (
    "enterprise_id",
    "grade",
    "grade_rank",
    "score",
    "industry_section",
    "town",
    "scale",
    "established",
    "registered_capital",
    "tax_grade",
    "tax_rank",
    "has_serious_record",
    "opt_in_all_until",
    "opted_banks",
    "demand_amount",
    "demand_term",
    "refreshed_at",
)
_CHUNK = 5000  # ids per statement where they are written into the SQL (SQLite)


def _table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _case(column: str, order: Mapping[str, int]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in order.items())
    return f"CASE {column} {whens} ELSE 0 END"


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _upsert_sql(ids_clause: str) -> str:
    """INSERT … SELECT … ON CONFLICT DO UPDATE (PostgreSQL and SQLite ≥ 3.39), writing only
    rows whose values changed. `ids_clause` is "" (every enterprise) or "IN (…)" / "= ANY(%s)",
    applied to each source so that a partial refresh reads only its enterprises' rows. Every
    literal here is a constant of the code; the only parameters are the instant and the ids."""

    def only(column: str) -> str:
        return f" AND {column} {ids_clause}" if ids_clause else ""

    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    updated = [c for c in _COLUMNS if c not in ("enterprise_id", "refreshed_at")]
    # constants of the code and quoted table names only: the values are parameters
    sql = f"""
INSERT INTO {_table(MatchProfile)} ({", ".join(_COLUMNS)})
SELECT e.id,
       COALESCE(g.grade, ''),
       {_case("g.grade", eligibility.GRADE_ORDER)},
       COALESCE(g.score, 0),
       e.industry_section, e.town, e.scale, e.established_date, e.registered_capital,
       CASE WHEN t.value IN ({_quoted(eligibility.TAX_GRADE_ORDER)}) THEN t.value ELSE '' END,
       {_case("t.value", eligibility.TAX_GRADE_ORDER)},
       s.enterprise_id IS NOT NULL,
       a.until,
       COALESCE(a.banks, 0) = 1,
       d.amount, d.term_months,
       %s
FROM {_table(Enterprise)} e
LEFT JOIN {_table(EnterpriseGrade)} g ON g.enterprise_id = e.id AND g.is_current
LEFT JOIN (
    SELECT enterprise_id, value FROM (
        SELECT enterprise_id, UPPER(TRIM(value)) AS value,
               ROW_NUMBER() OVER (
                   PARTITION BY enterprise_id ORDER BY decision_date DESC, id DESC
               ) AS n
        FROM {_table(CreditRecord)}
        WHERE status = '{RecordStatus.ACTIVE}' AND record_type = '{RecordType.TAX_GRADE}'
          AND enterprise_id IS NOT NULL{only("enterprise_id")}
    ) x WHERE n = 1
) t ON t.enterprise_id = e.id
LEFT JOIN (
    SELECT DISTINCT enterprise_id FROM {_table(CreditRecord)}
    WHERE status = '{RecordStatus.ACTIVE}'
      AND record_type IN ({_quoted(eligibility.SERIOUS_TYPES)})
      AND enterprise_id IS NOT NULL{only("enterprise_id")}
) s ON s.enterprise_id = e.id
LEFT JOIN (
    SELECT enterprise_id,
           MAX(CASE WHEN grantee_bank_id IS NULL THEN valid_until END) AS until,
           MAX(CASE WHEN grantee_bank_id IS NULL THEN 0 ELSE 1 END) AS banks
    FROM {_table(Authorization)}
    WHERE purpose = '{AuthorizationPurpose.MATCHING}'
      AND status = '{AuthorizationStatus.ACTIVE}'
      AND valid_from <= %s AND valid_until > %s{only("enterprise_id")}
    GROUP BY enterprise_id
) a ON a.enterprise_id = e.id
LEFT JOIN (
    SELECT enterprise_id, amount, term_months FROM (
        SELECT enterprise_id, amount, term_months,
               ROW_NUMBER() OVER (
                   PARTITION BY enterprise_id ORDER BY submitted_at DESC, id DESC
               ) AS n
        FROM {_table(LoanApplication)}
        WHERE kind = '{ApplicationKind.DEMAND}'
          AND status IN ({_quoted(OPEN_DEMAND)}){only("enterprise_id")}
    ) y WHERE n = 1
) d ON d.enterprise_id = e.id
WHERE e.status = '{EnterpriseStatus.ACTIVE}'{only("e.id")}
ORDER BY e.id
ON CONFLICT (enterprise_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in (*updated, "refreshed_at"))}
WHERE {" OR ".join(f"{_table(MatchProfile)}.{c} {distinct} excluded.{c}" for c in updated)}
"""  # noqa: S608
    return sql


def _upsert_params(now: Any, ids: Any) -> list[Any]:
    """The parameters of `_upsert_sql` in order (ids only when passed as one array)."""
    if ids is None:
        return [now, now, now]
    return [now, ids, ids, now, now, ids, ids, ids]


def _delete_sql(ids_clause: str) -> str:
    only = f" AND id {ids_clause}" if ids_clause else ""
    return (
        f"DELETE FROM {_table(MatchProfile)} WHERE enterprise_id IN ("  # noqa: S608
        f"SELECT id FROM {_table(Enterprise)} "
        f"WHERE status <> '{EnterpriseStatus.ACTIVE}'{only})"
    )


def refresh_profiles(enterprise_ids: Iterable[int] | None = None) -> int:
    """Bring the match profiles of these enterprises (None: all) up to date with the registry,
    the current grade, the latest active tax-credit grade, active serious records, the
    `matching` authorisations in force and the latest open financing demand. Set-based
    (INSERT … SELECT … ON CONFLICT DO UPDATE, changed rows only); an enterprise that is no
    longer active (吊销, 注销, 迁出) loses its profile. Returns rows written or removed."""
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    postgres = connection.vendor == "postgresql"
    written = 0
    # inside the caller's transaction (a regrade) its settings stay as they are; on its own, one
    # grouped pass over the records: keep its sorts in memory, and no JIT compilation
    own = not connection.in_atomic_block
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if postgres and own:
            cursor.execute(
                "SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)"
            )
        if enterprise_ids is None:
            cursor.execute(_upsert_sql(""), _upsert_params(stamp, None))
            written += max(cursor.rowcount, 0)
            cursor.execute(_delete_sql(""))
            return written + max(cursor.rowcount, 0)
        ids = sorted({int(i) for i in enterprise_ids})
        if postgres:
            cursor.execute(_upsert_sql("= ANY(%s)"), _upsert_params(stamp, ids))
            written += max(cursor.rowcount, 0)
            cursor.execute(_delete_sql("= ANY(%s)"), [ids])
            return written + max(cursor.rowcount, 0)
        for start in range(0, len(ids), _CHUNK):
            inline = "IN (" + ", ".join(str(i) for i in ids[start : start + _CHUNK]) + ")"
            cursor.execute(_upsert_sql(inline), _upsert_params(stamp, None))
            written += max(cursor.rowcount, 0)
            cursor.execute(_delete_sql(inline))
            written += max(cursor.rowcount, 0)
    return written


def refresh_profiles_soon(enterprise_ids: Iterable[int] | None) -> None:
    """Refresh these enterprises' profiles (None: all) once the current transaction commits,
    in the background (at once when tasks run eagerly; nothing if it rolls back)."""
    from lending.tasks import refresh_match_profiles

    ids = None if enterprise_ids is None else sorted({int(i) for i in enterprise_ids})
    if ids is not None and not ids:
        return
    transaction.on_commit(lambda: refresh_match_profiles.delay(enterprise_ids=ids))


# an authorisation starting later than this is picked up by the nightly refresh rather than a
# delayed task (a Redis broker redelivers tasks held past its visibility timeout, one hour)
DELAYED_REFRESH_WITHIN = dt.timedelta(minutes=55)


def authorization_changed(authorization: Authorization) -> None:
    """Hook: a `matching` authorisation was granted, renewed, revoked or expired."""
    if authorization.purpose != AuthorizationPurpose.MATCHING:
        return
    refresh_profiles_soon([authorization.enterprise_id])
    ahead = authorization.valid_from - timezone.now()
    active = authorization.status == AuthorizationStatus.ACTIVE
    if active and dt.timedelta(0) < ahead <= DELAYED_REFRESH_WITHIN:
        from lending.tasks import refresh_match_profiles

        ids, eta = [authorization.enterprise_id], authorization.valid_from
        transaction.on_commit(
            lambda: refresh_match_profiles.apply_async(kwargs={"enterprise_ids": ids}, eta=eta)
        )


def application_changed(application: LoanApplication) -> None:
    """Hook: a financing demand was submitted or moved (its open demand may have changed)."""
    if application.kind == ApplicationKind.DEMAND:
        refresh_profiles_soon([application.enterprise_id])


# ---------------------------------------------------------------------------------------------
# Approval history
# ---------------------------------------------------------------------------------------------
def _since(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.MATCH_APPROVAL_DAYS)


def similar_approvals(
    bank_id: int, *, now: dt.datetime | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """{(industry section, grade): (approved, decided)} of the bank's applications decided over
    MATCH_APPROVAL_DAYS, by the applicant's current section and grade (from its profile). As of
    now, it is kept in the cache for MATCH_APPROVAL_CACHE_SECONDS (a statistic over months)."""
    if now is not None:
        return _similar_approvals(bank_id, now)
    key = f"lending:match:approvals:{bank_id}"
    cells: dict[tuple[str, str], tuple[int, int]] | None = django_cache.get(key)
    if cells is None:
        cells = _similar_approvals(bank_id, timezone.now())
        django_cache.set(key, cells, settings.MATCH_APPROVAL_CACHE_SECONDS)
    return cells


def _similar_approvals(bank_id: int, now: dt.datetime) -> dict[tuple[str, str], tuple[int, int]]:
    profile = MatchProfile.objects.filter(pk=OuterRef("enterprise_id"))
    rows = (
        LoanApplication.objects.filter(
            bank_id=bank_id, status__in=DECIDED, decided_at__gte=_since(now)
        )
        .annotate(
            section=Subquery(profile.values("industry_section")[:1]),
            rank_grade=Subquery(profile.values("grade")[:1]),
        )
        .order_by()
        .values("section", "rank_grade")
        .annotate(decided=Count("id"), approved=Count("id", filter=Q(status__in=APPROVED_OR_LATER)))
    )
    return {
        (r["section"], r["rank_grade"]): (r["approved"], r["decided"])
        for r in rows
        if r["section"] and r["rank_grade"]
    }


def _similar_bonus(approved: int, decided: int) -> int:
    if decided < settings.MATCH_APPROVAL_MIN_DECIDED:
        return 0
    return int((SIMILAR_MAX * _rate(approved, decided)).quantize(Decimal(1), ROUND_HALF_UP))


def bank_approvals(bank_ids: Iterable[int], *, now: dt.datetime) -> dict[int, tuple[int, int]]:
    """{bank: (approved, decided)} over MATCH_APPROVAL_DAYS."""
    rows = (
        LoanApplication.objects.filter(
            bank_id__in=list(bank_ids), status__in=DECIDED, decided_at__gte=_since(now)
        )
        .order_by()
        .values("bank_id")
        .annotate(decided=Count("id"), approved=Count("id", filter=Q(status__in=APPROVED_OR_LATER)))
    )
    return {r["bank_id"]: (r["approved"], r["decided"]) for r in rows}


# ---------------------------------------------------------------------------------------------
# Enterprises for a product
# ---------------------------------------------------------------------------------------------
def _demand_fits(terms: Any, amount: Decimal | None, term: int | None) -> bool:
    return (
        amount is not None
        and term is not None
        and terms.amount_min <= amount <= terms.amount_max
        and terms.term_min <= term <= terms.term_max
    )


@dataclass(frozen=True)
class _Fit:
    expression: Any
    bound: int  # the most any admitted row can gain over its score


def _fit(terms: Any, cells: Mapping[tuple[str, str], int], filters: Mapping[str, Any]) -> _Fit:
    """The fit as a SQL expression, and the largest bonus any row the product and the filters
    admit can get (the smaller, the fewer rows the exact top K reads)."""
    industries, towns = priorities()
    admitted_sections = set(terms.industries or reference.INDUSTRY_SECTIONS)
    if filters.get("industry"):
        admitted_sections &= {filters["industry"]}
    admitted_towns = set(terms.towns or reference.TOWN_NAMES)
    if filters.get("town"):
        admitted_towns &= {filters["town"]}
    lowest = eligibility.GRADE_ORDER.get(terms.min_grade or "", 0)
    admitted_grades = {g for g, rank in eligibility.GRADE_ORDER.items() if rank >= lowest}
    if filters.get("grade"):
        admitted_grades &= {filters["grade"]}
    industries = [s for s in industries if s in admitted_sections]
    towns = [t for t in towns if t in admitted_towns]
    cells = {
        (section, grade): bonus
        for (section, grade), bonus in cells.items()
        if bonus and section in admitted_sections and grade in admitted_grades
    }
    with_demand = filters.get("has_demand") is not False
    table = connection.ops.quote_name(MatchProfile._meta.db_table)

    def col(name: str) -> str:
        return f"{table}.{connection.ops.quote_name(name)}"

    # written as SQL once rather than as ORM expressions: the similar-approval CASE has one
    # branch per (section, grade) and the query is compiled four times per ranking
    parts, params = [col("score")], []
    if with_demand:
        amount, term = col("demand_amount"), col("demand_term")
        parts.append(
            f"CASE WHEN {amount} >= %s AND {amount} <= %s AND {term} >= %s AND {term} <= %s "
            f"THEN {DEMAND_FITS} WHEN {amount} IS NOT NULL THEN {DEMAND_OTHER} ELSE 0 END"
        )
        params += [terms.amount_min, terms.amount_max, terms.term_min, terms.term_max]
    if industries:
        marks = ", ".join(["%s"] * len(industries))
        section = col("industry_section")
        parts.append(f"CASE WHEN {section} IN ({marks}) THEN {PRIORITY_INDUSTRY} ELSE 0 END")
        params += industries
    if towns:
        marks = ", ".join(["%s"] * len(towns))
        parts.append(f"CASE WHEN {col('town')} IN ({marks}) THEN {PRIORITY_TOWN} ELSE 0 END")
        params += towns
    if cells:
        whens = " ".join(f"WHEN %s THEN {int(bonus)}" for bonus in cells.values())
        parts.append(f"CASE {col('industry_section')} || {col('grade')} {whens} ELSE 0 END")
        params += [section + grade for section, grade in cells]
    bound = (
        (DEMAND_FITS if with_demand else 0)
        + (PRIORITY_INDUSTRY if industries else 0)
        + (PRIORITY_TOWN if towns else 0)
        + max(cells.values(), default=0)
    )
    # column names and integer constants of the code; every value is a parameter
    sql = "(" + " + ".join(parts) + ")"
    expression = RawSQL(sql, params, output_field=IntegerField())  # noqa: S611
    return _Fit(expression, bound)


def _filters_q(filters: Mapping[str, Any] | None) -> Q:
    q = Q()
    for key, value in (filters or {}).items():
        if key not in FILTERS:
            raise ValueError(f"unknown match filter {key!r}")
        if value in (None, ""):
            continue
        if key == "town":
            q &= Q(town=value)
        elif key == "industry":
            q &= Q(industry_section=value)
        elif key == "grade":
            q &= Q(grade_rank=eligibility.GRADE_ORDER.get(value, -1))
        elif key == "has_demand":
            q &= Q(demand_amount__isnull=not value)
    return q


_ROW = (
    "enterprise_id",
    "fit",
    "grade",
    "score",
    "industry_section",
    "town",
    "scale",
    "demand_amount",
    "demand_term",
)


# the head read in score order to bound the k-th best fit: k × HEAD_FACTOR rows (a bigger head
# costs a little more to read and lifts the bound, so that fewer rows get their fit computed)
HEAD_FACTOR = 2


def _top(rows: QuerySet[MatchProfile], fit: _Fit, k: int) -> list[dict[str, Any]]:
    """The k best by fit, exactly, computing the fit only of rows that could make it: the
    k × HEAD_FACTOR best by score (index order) give a k-th best fit F, and a row scoring less
    than F − bound cannot reach F."""
    rows = rows.annotate(fit=fit.expression)
    size = k * HEAD_FACTOR
    head = list(rows.order_by("-score", "enterprise_id").values(*_ROW)[:size])
    head.sort(key=_best_first)
    if len(head) < size:  # every row there is
        return head[:k]
    floor = head[k - 1]["fit"] - fit.bound
    return list(
        rows.filter(score__gte=floor).order_by("-fit", "-score", "enterprise_id").values(*_ROW)[:k]
    )


def _best_first(row: Mapping[str, Any]) -> tuple[int, int, int]:
    return (-row["fit"], -row["score"], row["enterprise_id"])


def _in_force(now: dt.datetime) -> Q:
    return Q(status=AuthorizationStatus.ACTIVE, valid_from__lte=now, valid_until__gt=now)


def _candidates(
    base: QuerySet[MatchProfile], fit: _Fit, *, bank_id: int, k: int, now: dt.datetime
) -> list[dict[str, Any]]:
    everyone = base.filter(opt_in_all_until__isnull=False, opt_in_all_until__gt=now)
    to_bank = Authorization.objects.filter(
        _in_force(now),
        enterprise_id=OuterRef("enterprise_id"),
        grantee_bank_id=bank_id,
        purpose=AuthorizationPurpose.MATCHING,
    ).order_by()
    this_bank = base.filter(Exists(to_bank), opted_banks=True)
    found = {r["enterprise_id"]: r for r in _top(everyone, fit, k) + _top(this_bank, fit, k)}
    return sorted(found.values(), key=_best_first)[:k]


def _reasons(
    row: Mapping[str, Any],
    terms: Any,
    cells: Mapping[tuple[str, str], tuple[int, int]],
    priority: tuple[list[str], list[str]],
) -> list[str]:
    reasons = [
        _("信用等级 %(grade)s（%(score)d 分）") % {"grade": row["grade"], "score": row["score"]}
        if row["grade"]
        else _("暂无信用评价")
    ]
    amount, term = row["demand_amount"], row["demand_term"]
    if amount is not None:
        words = {"amount": _wan(amount), "term": term or 0}
        if _demand_fits(terms, amount, term):
            reasons.append(
                _("融资需求 %(amount)s 万元 / %(term)d 个月，在产品额度与期限内") % words
            )
        else:
            reasons.append(
                _("有融资需求 %(amount)s 万元 / %(term)d 个月（不在产品额度或期限内）") % words
            )
    section, town = row["industry_section"], row["town"]
    if section in priority[0]:
        name = reference.INDUSTRY_SECTIONS.get(section, section)
        reasons.append(_("属于重点行业：%(name)s") % {"name": name})
    if town in priority[1]:
        reasons.append(_("位于重点镇街：%(name)s") % {"name": reference.TOWN_NAMES.get(town, town)})
    approved, decided = cells.get((section, row["grade"]), (0, 0))
    if _similar_bonus(approved, decided):
        reasons.append(
            _("同行业同等级企业在本行获批率 %(rate)s%%（%(n)d 笔）")
            % {"rate": _percent(_rate(approved, decided)), "n": decided}
        )
    return reasons


def _held(
    rows: list[dict[str, Any]], *, bank_id: int, now: dt.datetime
) -> tuple[set[int], set[int]]:
    """(enterprises with a `matching` authorisation in force to all banks or this bank, those
    with one to this bank with a data purpose), among `rows`."""
    held = (
        Authorization.objects.filter(
            _in_force(now),
            Q(grantee_bank_id=bank_id, purpose__in=DATA_PURPOSES)
            | Q(grantee_bank__isnull=True, purpose=AuthorizationPurpose.MATCHING),
            enterprise_id__in=[r["enterprise_id"] for r in rows],
        )
        .order_by()
        .values_list("enterprise_id", "grantee_bank_id", "purpose")
    )
    visible, authorized = set(), set()
    for enterprise_id, grantee, purpose in held:
        if purpose == AuthorizationPurpose.MATCHING:
            visible.add(enterprise_id)
        if grantee == bank_id:
            authorized.add(enterprise_id)
    return visible, authorized


def rank_enterprises(
    version_or_product: Any,
    *,
    bank_id: int,
    limit: int = 100,
    filters: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> list[EnterpriseMatch]:
    """The opted-in enterprises a product (a `LoanProductVersion`, or a `LoanProduct`'s working
    copy) admits, best fit first, at most `limit`, with their reasons. `bank_id`: the bank
    asking (visibility, its approval history, whether it may see who each one is). `filters`:
    town (code), industry (section), grade (letter), has_demand (bool)."""
    if limit < 1:
        return []
    cells = similar_approvals(bank_id, now=now)
    now = now or timezone.now()
    terms = version_or_product
    bonus = {key: _similar_bonus(*counts) for key, counts in cells.items()}
    options = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    fit = _fit(terms, bonus, options)
    base = MatchProfile.objects.filter(
        eligibility.enterprise_filter(terms, today=timezone.localdate(now)), _filters_q(options)
    )
    rows = _candidates(base, fit, bank_id=bank_id, k=limit, now=now)
    # the authorisations behind visibility, read again for the rows found: a profile not yet
    # refreshed after a revocation never shows an enterprise that has withdrawn (it is left out,
    # the ranking is run once more without it, and its profile is refreshed)
    visible, authorized = _held(rows, bank_id=bank_id, now=now)
    stale = [r["enterprise_id"] for r in rows if r["enterprise_id"] not in visible]
    if stale:
        refresh_profiles_soon(stale)
        rows = _candidates(
            base.exclude(enterprise_id__in=stale), fit, bank_id=bank_id, k=limit, now=now
        )
        visible, authorized = _held(rows, bank_id=bank_id, now=now)
        rows = [r for r in rows if r["enterprise_id"] in visible]
    priority = priorities()
    return [
        EnterpriseMatch(
            enterprise_id=r["enterprise_id"],
            fit=r["fit"],
            grade=r["grade"],
            score=r["score"],
            industry_section=r["industry_section"],
            town=r["town"],
            scale=r["scale"],
            demand_amount=r["demand_amount"],
            demand_term=r["demand_term"],
            bank_authorized=r["enterprise_id"] in authorized,
            reasons=_reasons(r, terms, cells, priority),
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# Products for an enterprise
# ---------------------------------------------------------------------------------------------
_PRODUCT_ROW = (
    "id",
    "product_id",
    "name",
    "rate_min",
    "rate_max",
    "amount_min",
    "amount_max",
    "term_min",
    "term_max",
    "product__bank_id",
    *eligibility.CONDITION_FIELDS,
)


def _open_demands() -> QuerySet[LoanApplication]:
    return LoanApplication.objects.filter(
        kind=ApplicationKind.DEMAND, status__in=OPEN_DEMAND
    ).order_by()


def open_demand(enterprise_id: int) -> tuple[Decimal, int] | None:
    """(amount, term in months) of the enterprise's latest open financing demand."""
    row = (
        _open_demands()
        .filter(enterprise_id=enterprise_id)
        .order_by("-submitted_at", "-id")
        .values_list("amount", "term_months")
        .first()
    )
    return (row[0], row[1]) if row else None


def _rate_points(rate_min: Decimal) -> int:
    points = ((RATE_CEILING - rate_min) * 10).quantize(Decimal(1), ROUND_HALF_UP)
    return max(0, min(RATE_POINTS_MAX, int(points)))


def _product_fit(
    row: Mapping[str, Any],
    demand: tuple[Decimal, int] | None,
    approvals: Mapping[int, tuple[int, int]],
) -> tuple[int, bool, Decimal | None]:
    """(fit, whether the open demand fits the amount and term, the bank's approval rate)."""
    fit = _rate_points(row["rate_min"])
    fits = False
    if demand is not None:
        terms = SimpleNamespace(**row)
        fits = _demand_fits(terms, *demand)
        if fits:
            fit += PRODUCT_DEMAND_FITS
        elif row["amount_min"] <= demand[0] <= row["amount_max"]:
            fit += PRODUCT_AMOUNT_FITS
    approved, decided = approvals.get(row["product__bank_id"], (0, 0))
    rate = None
    if decided >= settings.MATCH_APPROVAL_MIN_DECIDED:
        rate = _rate(approved, decided)
        fit += int((BANK_APPROVAL_MAX * rate).quantize(Decimal(1), ROUND_HALF_UP))
    return fit, fits, rate


def _product_reasons(
    version: LoanProductVersion,
    facts: eligibility.EnterpriseFacts,
    demand: tuple[Decimal, int] | None,
    fits: bool,
    approval: tuple[Decimal | None, int],
    today: dt.date,
) -> list[str]:
    rate_min, rate_max = version.rate_min.normalize(), version.rate_max.normalize()
    if rate_min == rate_max:
        reasons = [_("年利率 %(rate)s%%") % {"rate": f"{rate_min:f}"}]
    else:
        reasons = [_("年利率 %(lo)s%%–%(hi)s%%") % {"lo": f"{rate_min:f}", "hi": f"{rate_max:f}"}]
    ranges = {
        "lo": _wan(version.amount_min),
        "hi": _wan(version.amount_max),
        "tlo": version.term_min,
        "thi": version.term_max,
    }
    if demand is None:
        reasons.append(_("额度 %(lo)s–%(hi)s 万元，期限 %(tlo)d–%(thi)d 个月") % ranges)
    else:
        words = {**ranges, "amount": _wan(demand[0]), "term": demand[1]}
        if fits:
            reasons.append(
                _(
                    "额度 %(lo)s–%(hi)s 万元、期限 %(tlo)d–%(thi)d 个月，"
                    "覆盖贵企业的融资需求 %(amount)s 万元 / %(term)d 个月"
                )
                % words
            )
        elif version.amount_min <= demand[0] <= version.amount_max:
            reasons.append(
                _(
                    "额度覆盖贵企业的融资需求 %(amount)s 万元；"
                    "期限 %(tlo)d–%(thi)d 个月（需求 %(term)d 个月）"
                )
                % words
            )
        else:
            reasons.append(
                _("额度 %(lo)s–%(hi)s 万元，与贵企业的融资需求 %(amount)s 万元不符") % words
            )
    rate, decided = approval
    if rate is not None:
        reasons.append(
            _("该行近 %(days)d 天审批通过率 %(rate)s%%（%(n)d 笔）")
            % {"days": settings.MATCH_APPROVAL_DAYS, "rate": _percent(rate), "n": decided}
        )
    reasons.append(eligibility.check(facts, version, today=today).summary())
    return reasons


def rank_products(
    enterprise: Enterprise, *, limit: int = 20, now: dt.datetime | None = None
) -> list[ProductMatch]:
    """The listed products the enterprise qualifies for, best fit first, with the reasons.

    fit = rate points: round((8 − lowest annual rate %) × 10), between 0 and 50
        + 30 when the open financing demand's amount and term are within the product's ranges
          (+ 15 when only the amount is)
        + round(20 × the bank's approval rate over MATCH_APPROVAL_DAYS), when at least
          MATCH_APPROVAL_MIN_DECIDED applications were decided
    Ties: lower rate, larger maximum amount, lower version id. The products (at most a few
    thousand) are filtered by `sql_prefilter`, then `passes` on plain rows."""
    if limit < 1:
        return []
    now = now or timezone.now()
    today = timezone.localdate(now)
    facts = eligibility.facts_for(enterprise)
    rows = [
        row
        for row in listed_versions()
        .filter(eligibility.sql_prefilter(facts, today=today))
        .order_by()
        .values(*_PRODUCT_ROW)
        if eligibility.passes(facts, SimpleNamespace(**row), today=today)
    ]
    demand = open_demand(enterprise.pk)
    approvals = bank_approvals({r["product__bank_id"] for r in rows}, now=now)
    scored = []
    for row in rows:
        fit, fits, rate = _product_fit(row, demand, approvals)
        scored.append((fit, fits, rate, row))
    scored.sort(key=lambda s: (-s[0], s[3]["rate_min"], -s[3]["amount_max"], s[3]["id"]))
    chosen = scored[:limit]
    versions = LoanProductVersion.objects.select_related("product__bank").in_bulk(
        [s[3]["id"] for s in chosen]
    )
    result = []
    for fit, fits, rate, row in chosen:
        version = versions[row["id"]]
        decided = approvals.get(row["product__bank_id"], (0, 0))[1]
        result.append(
            ProductMatch(
                version=version,
                product_id=row["product_id"],
                name=row["name"],
                bank_id=row["product__bank_id"],
                bank_name=version.product.bank.name,
                fit=fit,
                approval_rate=rate,
                demand_fits=fits,
                reasons=_product_reasons(version, facts, demand, fits, (rate, decided), today),
            )
        )
    return result


__all__: Sequence[str] = (
    "EnterpriseMatch",
    "ProductMatch",
    "application_changed",
    "authorization_changed",
    "rank_enterprises",
    "rank_products",
    "refresh_profiles",
    "refresh_profiles_soon",
)
