"""Known data for recommended lists: a small city where each enterprise passes or fails
exactly one of the criteria, and helpers to make lists from it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from enterprises.authorization import new_number, terms_digest
from enterprises.models import Authorization, CreditRecord, Enterprise, EnterpriseGrade
from lending import lists
from lending.models import LoanApplication, RecommendationCriteria, RecommendationList
from tests.factories import EnterpriseFactory, UserFactory

TODAY = date.today()
_record_ids = iter(range(1, 10**6))


def years_ago(n: int, days: int = 0) -> date:
    return date(TODAY.year - n, TODAY.month, min(TODAY.day, 28)) - timedelta(days=days)


def firm(
    name: str,
    *,
    grade: str = "A",
    score: int = 800,
    address: str = "东莞市长安镇某路 1 号",
    established: date | None = None,
    status: str = "active",
    town: str = "changan",
    industry: str = "C",
) -> Enterprise:
    enterprise = EnterpriseFactory.create(
        name=name,
        address=address,
        established_date=established or years_ago(5),
        status=status,
        town=town,
        industry_section=industry,
    )
    EnterpriseGrade.objects.create(
        enterprise=enterprise, scheme_version="t1", score=score, grade=grade, is_current=True
    )
    return enterprise


def record(
    enterprise: Enterprise,
    record_type: str,
    decided: date,
    *,
    status: str = "active",
    penalty_class: str = "",
) -> CreditRecord:
    n = next(_record_ids)
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type=record_type,
        source_department="测试局",
        source_record_id=f"R{n}",
        decision_date=decided,
        status=status,
        penalty_class=penalty_class,
        content_hash=f"{n:064d}",
    )


def opt_in(enterprise: Enterprise, bank: Any = None, *, by: Any = None) -> Authorization:
    """A `matching` authorisation in force: to all banks, or to `bank` only."""
    now = timezone.now()
    authorization = Authorization(
        number=new_number(),
        enterprise=enterprise,
        grantee_bank=bank,
        scope="summary",
        purpose="matching",
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=365),
        granted_by=by or UserFactory.create(),
        granted_at=now,
    )
    authorization.digest = terms_digest(authorization)
    authorization.save()
    return authorization


def demand(enterprise: Enterprise, *, status: str = "submitted", days_ago: int = 0) -> Any:
    return LoanApplication.objects.create(
        number=f"DK-T-{enterprise.pk}-{status}",
        kind="demand",
        enterprise=enterprise,
        amount=Decimal("500000"),
        term_months=12,
        purpose="周转",
        status=status,
        submitted_by=UserFactory.create(),
        submitted_at=timezone.now() - timedelta(days=days_ago),
    )


def criteria(office: Any, **fields: Any) -> RecommendationCriteria:
    return lists.criteria_create(actor=office, **({"name": "标准条件"} | fields))


def new_list(office: Any, rule: RecommendationCriteria, **fields: Any) -> RecommendationList:
    values: dict[str, Any] = {
        "criteria_id": rule.pk,
        "title": "2026 年第四季度推荐清单",
        "period_start": TODAY - timedelta(days=90),
        "period_end": TODAY,
    } | fields
    return lists.list_create(actor=office, **values)


def city(bank: Any, other_bank: Any) -> dict[str, Enterprise]:
    """Enterprises named after the one thing that decides them (standard criteria: grade B or
    better, 1 year, 3-year look-backs, premises, opt-in required)."""
    firms = {
        "best": firm("最佳", score=950),
        "demand": firm("有需求", grade="B", score=700),
        "bank_only": firm("仅授权一家银行", score=820),
        "old_serious": firm("五年前失信", score=810),
        "repaired": firm("失信已修复", score=805),
        "grade_c": firm("C级", grade="C", score=500),
        "no_address": firm("无住所", address=""),
        "young": firm("新成立", established=TODAY - timedelta(days=100)),
        "no_date": firm("无成立日期"),
        "revoked": firm("已吊销", status="revoked"),
        "debtor": firm("失信被执行人"),
        "serious_penalty": firm("严重处罚"),
        "abnormal": firm("经营异常"),
        "no_need": firm("无授权无需求"),
        "applied_only": firm("期内申请未授权"),
        "other_town": firm("其他镇街", town="humen", industry="F", score=780),
    }
    Enterprise.objects.filter(pk=firms["no_date"].pk).update(established_date=None)
    for key, enterprise in firms.items():
        if key == "bank_only":
            opt_in(enterprise, other_bank)
        elif key not in {"no_need", "applied_only", "demand"}:
            opt_in(enterprise)
    demand(firms["demand"])
    opt_in(firms["demand"], bank)
    # a demand turned down ten days ago: an application in the period, not an open demand
    demand(firms["applied_only"], status="rejected", days_ago=10)
    record(firms["old_serious"], "dishonest_debtor", years_ago(5), status="expired")
    record(firms["repaired"], "serious_dishonesty", years_ago(1), status="repaired")
    record(firms["debtor"], "dishonest_debtor", years_ago(1))
    record(firms["serious_penalty"], "penalty", years_ago(2), penalty_class="serious")
    record(firms["serious_penalty"], "penalty", years_ago(0, 10), penalty_class="general")
    record(firms["abnormal"], "abnormal_operation", years_ago(0, 30))
    return firms


QUALIFYING = {"best", "demand", "bank_only", "old_serious", "repaired", "other_town"}
