"""Whether an enterprise meets a loan product's conditions (准入条件) — one implementation for
the marketplace, the application check and matching.

`facts_for()` reads what the conditions need about one enterprise (a handful of queries);
`check()` then compares those facts with any product's terms in pure Python, so a marketplace
page of thousands of products costs the facts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises import reference

GRADE_ORDER = {"A": 4, "B": 3, "C": 2, "D": 1}
TAX_GRADE_ORDER = {"A": 5, "B": 4, "M": 3, "C": 2, "D": 1}
SERIOUS_TYPES = ("serious_dishonesty", "dishonest_debtor")


@dataclass(frozen=True)
class EnterpriseFacts:
    enterprise_id: int
    grade: str | None
    industry_section: str
    town: str
    established: date | None
    scale: str
    tax_grade: str | None
    has_serious_record: bool
    registered_capital: Decimal | None

    def years_established(self, today: date | None = None) -> int | None:
        if self.established is None:
            return None
        today = today or timezone.localdate()
        years = today.year - self.established.year
        if (today.month, today.day) < (self.established.month, self.established.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Condition:
    code: str
    label: str
    ok: bool
    failure: str = ""


@dataclass(frozen=True)
class Eligibility:
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.conditions)

    @property
    def met(self) -> int:
        return sum(c.ok for c in self.conditions)

    @property
    def total(self) -> int:
        return len(self.conditions)

    @property
    def failures(self) -> list[str]:
        return [c.failure for c in self.conditions if not c.ok]

    def summary(self) -> str:
        """ "满足 5/6 项；不满足：成立年限不足 2 年" — or "满足全部 6 项条件"."""
        if self.ok:
            return _("满足全部 %(n)d 项条件") % {"n": self.total}
        return _("满足 %(met)d/%(total)d 项；不满足：%(failures)s") % {
            "met": self.met,
            "total": self.total,
            "failures": "；".join(self.failures),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.ok,
            "met": self.met,
            "total": self.total,
            "summary": self.summary(),
            "conditions": [
                {"code": c.code, "label": c.label, "ok": c.ok, "failure": c.failure}
                for c in self.conditions
            ],
        }


def facts_for(enterprise: Any) -> EnterpriseFacts:
    """Everything the conditions look at, for one enterprise (its own data: callers make sure
    the reader may use it — the enterprise itself, or a bank under an authorisation)."""
    from enterprises.models import CreditRecord, EnterpriseGrade, RecordStatus, RecordType

    grade = (
        EnterpriseGrade.objects.filter(enterprise=enterprise, is_current=True)
        .values_list("grade", flat=True)
        .first()
    )
    active = CreditRecord.objects.filter(enterprise=enterprise, status=RecordStatus.ACTIVE)
    tax_grade = (
        active.filter(record_type=RecordType.TAX_GRADE)
        .order_by("-decision_date", "-id")
        .values_list("value", flat=True)
        .first()
    )
    return EnterpriseFacts(
        enterprise_id=enterprise.pk,
        grade=grade,
        industry_section=enterprise.industry_section,
        town=enterprise.town,
        established=enterprise.established_date,
        scale=enterprise.scale,
        tax_grade=(tax_grade or "").strip().upper() or None,
        has_serious_record=active.filter(record_type__in=SERIOUS_TYPES).exists(),
        registered_capital=enterprise.registered_capital,
    )


def _wan(amount: Decimal) -> str:
    value = (amount / Decimal(10000)).normalize()
    return f"{value:f}"


@dataclass(frozen=True)
class Rule:
    """One condition: whether a product sets it, whether facts meet it, and its words."""

    code: str
    applies: Callable[[Any], bool]
    test: Callable[[EnterpriseFacts, Any, date | None], bool]
    label: Callable[[Any], str]
    failure: Callable[[EnterpriseFacts, Any], str]


def _years_ok(facts: EnterpriseFacts, terms: Any, today: date | None) -> bool:
    years = facts.years_established(today)
    return years is not None and years >= terms.min_years


def _sections(terms: Any) -> str:
    return "、".join(reference.INDUSTRY_SECTIONS.get(s, s) for s in terms.industries)


RULES: tuple[Rule, ...] = (
    Rule(
        "min_grade",
        lambda t: bool(t.min_grade),
        lambda f, t, _d: GRADE_ORDER.get(f.grade or "", 0) >= GRADE_ORDER[t.min_grade],
        lambda t: _("信用等级 %(grade)s 级及以上") % {"grade": t.min_grade},
        lambda f, t: (
            _("信用等级为 %(have)s，要求 %(need)s 级及以上")
            % {"have": f.grade or _("未评价"), "need": t.min_grade}
        ),
    ),
    Rule(
        "industries",
        lambda t: bool(t.industries),
        lambda f, t, _d: f.industry_section in t.industries,
        lambda t: _("行业：%(names)s") % {"names": _sections(t)},
        lambda f, t: _("所属行业不在 %(names)s 之列") % {"names": _sections(t)},
    ),
    Rule(
        "towns",
        lambda t: bool(t.towns),
        lambda f, t, _d: f.town in t.towns,
        lambda t: _("限定镇街"),
        lambda f, t: _("注册地不在产品限定的镇街"),
    ),
    Rule(
        "min_years",
        lambda t: bool(t.min_years),
        _years_ok,
        lambda t: _("成立满 %(n)d 年") % {"n": t.min_years},
        lambda f, t: _("成立年限不足 %(n)d 年") % {"n": t.min_years},
    ),
    Rule(
        "scales",
        lambda t: bool(t.scales),
        lambda f, t, _d: f.scale in t.scales,
        lambda t: _("企业规模"),
        lambda f, t: _("企业规模不符合产品要求"),
    ),
    Rule(
        "min_tax_grade",
        lambda t: bool(t.min_tax_grade),
        lambda f, t, _d: (
            TAX_GRADE_ORDER.get(f.tax_grade or "", 0) >= TAX_GRADE_ORDER[t.min_tax_grade]
        ),
        lambda t: _("纳税信用 %(grade)s 级及以上") % {"grade": t.min_tax_grade},
        lambda f, t: (
            _("纳税信用等级为 %(have)s，要求 %(need)s 级及以上")
            % {"have": f.tax_grade or _("无记录"), "need": t.min_tax_grade}
        ),
    ),
    Rule(
        "no_serious_record",
        lambda t: bool(t.no_serious_record),
        lambda f, t, _d: not f.has_serious_record,
        lambda t: _("无有效的失信被执行人或严重失信记录"),
        lambda f, t: _("存在有效的失信被执行人或严重失信记录"),
    ),
    Rule(
        "min_registered_capital",
        lambda t: bool(t.min_registered_capital),
        lambda f, t, _d: (
            f.registered_capital is not None
            and f.registered_capital >= Decimal(t.min_registered_capital)
        ),
        lambda t: (
            _("注册资本 %(wan)s 万元及以上") % {"wan": _wan(Decimal(t.min_registered_capital))}
        ),
        lambda f, t: (
            _("注册资本不足 %(wan)s 万元") % {"wan": _wan(Decimal(t.min_registered_capital))}
        ),
    ),
)
# the product columns the rules read (for checking many products from a values() query)
CONDITION_FIELDS = (
    "min_grade",
    "industries",
    "towns",
    "min_years",
    "scales",
    "min_tax_grade",
    "no_serious_record",
    "min_registered_capital",
)


def check(facts: EnterpriseFacts, terms: Any, *, today: date | None = None) -> Eligibility:
    """Compare one enterprise's facts with a product's terms (a `LoanProduct`, a
    `LoanProductVersion`, or anything with the same attributes). Only the conditions the
    product sets are listed."""
    conditions = []
    for rule in RULES:
        if rule.applies(terms):
            ok = rule.test(facts, terms, today)
            failure = "" if ok else rule.failure(facts, terms)
            conditions.append(Condition(rule.code, rule.label(terms), ok, failure))
    return Eligibility(tuple(conditions))


def sql_prefilter(facts: EnterpriseFacts, *, today: date | None = None) -> Q:
    """The scalar conditions as a query on product columns (a product passes it when each
    condition it sets is met); the list conditions (industries, towns, scales) are left to
    `passes`. Tests hold it to the same answers as `check` for every product."""
    grade = GRADE_ORDER.get(facts.grade or "", 0)
    tax = TAX_GRADE_ORDER.get(facts.tax_grade or "", 0)
    years = facts.years_established(today)
    q = Q(min_grade="") | Q(min_grade__in=[g for g, o in GRADE_ORDER.items() if o <= grade])
    q &= Q(min_tax_grade="") | Q(
        min_tax_grade__in=[g for g, o in TAX_GRADE_ORDER.items() if o <= tax]
    )
    q &= (
        Q(min_years__isnull=True) | Q(min_years=0)
        if years is None
        else Q(min_years__isnull=True) | Q(min_years__lte=years)
    )
    if facts.has_serious_record:
        q &= Q(no_serious_record=False)
    if facts.registered_capital is None:
        q &= Q(min_registered_capital__isnull=True) | Q(min_registered_capital=0)
    else:
        q &= Q(min_registered_capital__isnull=True) | Q(
            min_registered_capital__lte=facts.registered_capital
        )
    return q


def passes(facts: EnterpriseFacts, terms: Any, *, today: date | None = None) -> bool:
    """`check(...).ok` without composing any words: for filtering thousands of products."""
    return all(rule.test(facts, terms, today) for rule in RULES if rule.applies(terms))


def _established_by(today: date, years: int) -> date | None:
    """The latest establishment date that makes `years` full years by `today`, counted as
    `EnterpriseFacts.years_established` counts (the anniversary day itself counts; a firm
    founded on 29 February completes its year on 1 March in other years). None: no date."""
    year = today.year - years
    if year < 1:
        return None
    try:
        return today.replace(year=year)
    except ValueError:  # today is 29 February and `year` is not a leap year
        return date(year, 2, 28)


def enterprise_filter(terms: Any, *, today: date | None = None) -> Q:
    """The enterprises a product's conditions admit, as a query on `lending.MatchProfile`
    columns (matching ranks a whole city with it). Each condition the product sets is the same
    test as in `RULES`; a test holds it to the same answers as `check`."""
    q = Q()
    if terms.min_grade:
        q &= Q(grade_rank__gte=GRADE_ORDER[terms.min_grade])
    if terms.industries:
        q &= Q(industry_section__in=list(terms.industries))
    if terms.towns:
        q &= Q(town__in=list(terms.towns))
    if terms.min_years:
        cutoff = _established_by(today or timezone.localdate(), terms.min_years)
        q &= Q(established__lte=cutoff) if cutoff else Q(pk__in=[])
    if terms.scales:
        q &= Q(scale__in=list(terms.scales))
    if terms.min_tax_grade:
        q &= Q(tax_rank__gte=TAX_GRADE_ORDER[terms.min_tax_grade])
    if terms.no_serious_record:
        q &= Q(has_serious_record=False)
    if terms.min_registered_capital:
        q &= Q(registered_capital__gte=Decimal(terms.min_registered_capital))
    return q
