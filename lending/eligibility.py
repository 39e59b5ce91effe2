"""Whether an enterprise meets a loan product's conditions (准入条件) — one implementation for
the marketplace, the application check and matching.

`facts_for()` reads what the conditions need about one enterprise (a handful of queries);
`check()` then compares those facts with any product's terms in pure Python, so a marketplace
page of thousands of products costs the facts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

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


def check(facts: EnterpriseFacts, terms: Any, *, today: date | None = None) -> Eligibility:
    """Compare one enterprise's facts with a product's terms (a `LoanProduct`, a
    `LoanProductVersion`, or anything with the same attributes). Only the conditions the
    product sets are listed."""
    conditions: list[Condition] = []

    def add(code: str, label: str, ok: bool, failure: str) -> None:
        conditions.append(Condition(code, label, ok, "" if ok else failure))

    if terms.min_grade:
        ok = GRADE_ORDER.get(facts.grade or "", 0) >= GRADE_ORDER[terms.min_grade]
        add(
            "min_grade",
            _("信用等级 %(grade)s 级及以上") % {"grade": terms.min_grade},
            ok,
            _("信用等级为 %(have)s，要求 %(need)s 级及以上")
            % {"have": facts.grade or _("未评价"), "need": terms.min_grade},
        )
    if terms.industries:
        names = "、".join(reference.INDUSTRY_SECTIONS.get(s, s) for s in terms.industries)
        add(
            "industries",
            _("行业：%(names)s") % {"names": names},
            facts.industry_section in terms.industries,
            _("所属行业不在 %(names)s 之列") % {"names": names},
        )
    if terms.towns:
        add(
            "towns",
            _("限定镇街"),
            facts.town in terms.towns,
            _("注册地不在产品限定的镇街"),
        )
    if terms.min_years:
        years = facts.years_established(today)
        add(
            "min_years",
            _("成立满 %(n)d 年") % {"n": terms.min_years},
            years is not None and years >= terms.min_years,
            _("成立年限不足 %(n)d 年") % {"n": terms.min_years},
        )
    if terms.scales:
        add(
            "scales",
            _("企业规模"),
            facts.scale in terms.scales,
            _("企业规模不符合产品要求"),
        )
    if terms.min_tax_grade:
        have = TAX_GRADE_ORDER.get(facts.tax_grade or "", 0)
        add(
            "min_tax_grade",
            _("纳税信用 %(grade)s 级及以上") % {"grade": terms.min_tax_grade},
            have >= TAX_GRADE_ORDER[terms.min_tax_grade],
            _("纳税信用等级为 %(have)s，要求 %(need)s 级及以上")
            % {"have": facts.tax_grade or _("无记录"), "need": terms.min_tax_grade},
        )
    if terms.no_serious_record:
        add(
            "no_serious_record",
            _("无有效的失信被执行人或严重失信记录"),
            not facts.has_serious_record,
            _("存在有效的失信被执行人或严重失信记录"),
        )
    if terms.min_registered_capital:
        need = Decimal(terms.min_registered_capital)
        have_capital = facts.registered_capital
        add(
            "min_registered_capital",
            _("注册资本 %(wan)s 万元及以上") % {"wan": _wan(need)},
            have_capital is not None and have_capital >= need,
            _("注册资本不足 %(wan)s 万元") % {"wan": _wan(need)},
        )
    return Eligibility(tuple(conditions))
