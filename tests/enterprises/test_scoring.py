"""The scorecard (enterprises.scoring): hand-computed grades, hard rules, history, the task and
the command. Scores below are worked out by hand from DEFAULT_SCHEME (docs/SCORING.md):
score = 10 × Σ weight × dimension score, weights law .30, contract .15, operation .20,
social .10, utilities .05, honours .10, related .10."""

from __future__ import annotations

import copy
import itertools
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from enterprises import scoring
from enterprises.models import CreditRecord, Enterprise, EnterpriseGrade, ScoreScheme
from enterprises.publication import publication_window
from enterprises.scoring import (
    DEFAULT_SCHEME,
    SchemeError,
    compile_scheme,
    ensure_default_scheme,
    records_changed,
    regrade,
    run_regrade,
)
from enterprises.tasks import regrade_enterprises
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 5, 15)
SAMR = "东莞市市场监督管理局"
_ids = itertools.count(1)


def record(enterprise: Enterprise, record_type: str, decided: date, **fields: Any) -> CreditRecord:
    penalty_class = fields.pop("penalty_class", "")
    minimum, maximum = publication_window(record_type, penalty_class, decided)
    values: dict[str, Any] = {
        "enterprise": enterprise,
        "uscc": enterprise.uscc,
        "record_type": record_type,
        "source_department": fields.pop("department", SAMR),
        "source_record_id": f"T{next(_ids):06d}",
        "decision_date": decided,
        "penalty_class": penalty_class,
        "publish_min_until": minimum,
        "publish_max_until": maximum,
        "content_hash": "x",
    }
    values.update(fields)
    return CreditRecord.objects.create(**values)


def good_firm(**over: Any) -> Enterprise:
    """12 years old on AS_OF, tax grade A, 24 months of social insurance, 12 of housing fund,
    one fulfilled commitment, one red list entry."""
    firm = EnterpriseFactory.create(established_date=date(2014, 5, 1), **over)
    record(firm, "tax_grade", date(2025, 4, 10), value="C", year=2024)
    record(firm, "tax_grade", date(2026, 4, 10), value="A", year=2025)
    record(firm, "social_insurance", date(2025, 1, 20), months_paid=12, months_arrears=0)
    record(firm, "social_insurance", date(2026, 1, 20), months_paid=12, months_arrears=0)
    record(firm, "housing_fund", date(2026, 1, 20), months_paid=12, months_arrears=0)
    record(firm, "commitment", date(2025, 6, 1), fulfilment="fulfilled")
    record(firm, "red_list", date(2025, 7, 1), value="守合同重信用", valid_until=date(2027, 6, 30))
    return firm


def current(firm: Enterprise) -> EnterpriseGrade:
    return EnterpriseGrade.objects.get(enterprise=firm, is_current=True)


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["text"] for item in items]


# ---------------------------------------------------------------------------------------------
# hand-computed grades
# ---------------------------------------------------------------------------------------------
def test_good_firm_scores_920_grade_a_with_its_three_best_reasons() -> None:
    firm = good_firm()
    assert regrade([firm.pk], as_of=AS_OF, related_risky={}) == 1
    grade = current(firm)
    # law 100, contract 70+10, operation A 60 + ≥10 years 40, social 40+40+20, utilities 100,
    # honours 20+30, related 100 → 10 × (30 + 12 + 20 + 10 + 5 + 5 + 10) = 920
    assert grade.dimension_scores == {
        "law": 100,
        "contract": 80,
        "operation": 100,
        "social": 100,
        "utilities": 100,
        "honours": 50,
        "related": 100,
    }
    assert (grade.score, grade.grade, grade.hard_rule) == (920, "A", "")
    assert grade.scheme_version == "2026.1"
    # the latest tax grade counts (A of 2026, not C of 2025); a tie (tax +40, social +40)
    # goes to the leaf listed first
    assert grade.reasons["raise"] == [
        {"code": "years_established", "text": "成立已满 12 年，加 80 分", "points": 80},
        {"code": "tax_grade", "text": "纳税信用等级为 A 级，加 40 分", "points": 40},
        {"code": "si_months_paid", "text": "已缴纳社会保险 24 个月，加 40 分", "points": 40},
    ]
    assert grade.reasons["lower"] == []
    assert grade.reasons["actions"] == []


def test_penalised_firm_725_b_names_the_penalty_and_when_it_can_be_repaired() -> None:
    firm = EnterpriseFactory.create(established_date=date(2020, 1, 10))
    record(firm, "tax_grade", date(2026, 4, 1), value="B")
    record(firm, "social_insurance", date(2026, 1, 20), months_paid=12, months_arrears=2)
    penalty = record(firm, "penalty", date(2026, 3, 1), penalty_class="general", amount=20000)
    assert penalty.publish_min_until == date(2026, 5, 31)
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    grade = current(firm)
    # law 100-20, contract 70, operation B 50 + ≥5 years 30, social 40+30-2×10, utilities 100,
    # honours 20, related 100 → 10 × (24 + 10.5 + 16 + 5 + 5 + 2 + 10) = 725
    assert grade.dimension_scores == {
        "law": 80,
        "contract": 70,
        "operation": 80,
        "social": 50,
        "utilities": 100,
        "honours": 20,
        "related": 100,
    }
    assert (grade.score, grade.grade) == (725, "B")
    assert texts(grade.reasons["raise"]) == [
        "成立已满 6 年，加 60 分",
        "已缴纳社会保险 12 个月，加 30 分",
        "纳税信用等级为 B 级，加 20 分",
    ]
    assert grade.reasons["lower"] == [
        {
            "code": "penalties_general",
            "text": "有 1 条一般行政处罚（东莞市市场监督管理局，2026-03-01），扣 60 分",
            "points": -60,
        },
        {"code": "si_months_arrears", "text": "欠缴社会保险 2 个月，扣 20 分", "points": -20},
    ]
    assert grade.reasons["actions"] == [
        {
            "code": "penalty_repair",
            "text": (
                "该行政处罚（东莞市市场监督管理局，2026-03-01）自 2026-06-01 起可申请信用修复，"
                "修复后可加回 60 分"
            ),
            "points": 60,
        },
        {
            "code": "si_arrears",
            "text": "补缴社保欠费（共 2 个月）后，人社部门更新缴费记录即可加回 20 分",
            "points": 20,
        },
    ]
    # after the minimum period the same penalty is repairable now
    regrade([firm.pk], as_of=date(2026, 6, 1), related_risky={})
    assert current(firm).reasons["actions"][0]["code"] == "penalty_repair_now"


def test_earliest_repairable_penalty_is_the_action_and_a_clipped_dimension_shares_its_loss() -> (
    None
):
    firm = EnterpriseFactory.create(established_date=date(2026, 1, 1))
    record(firm, "penalty", date(2025, 12, 1), penalty_class="serious", department="东莞市应急局")
    record(firm, "penalty", date(2026, 2, 1), penalty_class="serious")
    record(firm, "penalty", date(2026, 3, 1), penalty_class="general")
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    grade = current(firm)
    # law 100 - 2×50 - 20 = -20 → 0; the loss of 100 is shared 100/120 each way:
    # serious 100 → 83.33 → 250 points, general 20 → 16.67 → 50 points
    # contract 70, operation M-less (40) + 0 years, social 40, utilities 100, honours 20, related
    # 100 → 10 × (0 + 10.5 + 8 + 4 + 5 + 2 + 10) = 395 → D (no hard rule)
    assert grade.dimension_scores["law"] == 0
    assert (grade.score, grade.grade, grade.hard_rule) == (395, "D", "")
    assert texts(grade.reasons["lower"]) == [
        "有 2 条严重行政处罚（最近一次：东莞市市场监督管理局，2026-02-01），扣 250 分",
        "有 1 条一般行政处罚（东莞市市场监督管理局，2026-03-01），扣 50 分",
    ]
    # the general one is repairable first (2026-06-01), before the serious of 2025-12-01
    # (2026-12-01); it wins back its share, 50 points
    assert grade.reasons["actions"][0] == {
        "code": "penalty_repair",
        "text": (
            "该行政处罚（东莞市市场监督管理局，2026-03-01）自 2026-06-01 起可申请信用修复，"
            "修复后可加回 50 分"
        ),
        "points": 50,
    }


@pytest.mark.parametrize(
    ("record_type", "code", "text"),
    [
        ("serious_dishonesty", "serious_dishonesty", "被列入严重失信主体名单，信用等级直接评为 D"),
        ("dishonest_debtor", "dishonest_debtor", "被列为失信被执行人，信用等级直接评为 D"),
    ],
)
def test_hard_rule_forces_d_and_caps_the_score(record_type: str, code: str, text: str) -> None:
    firm = good_firm()
    record(firm, record_type, date(2026, 2, 1), department="东莞市中级人民法院")
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    grade = current(firm)
    # without the rule: serious dishonesty costs 100 law points (920 - 300 = 620, C), a
    # dishonest debtor 60 (920 - 180 = 740, B); the rule makes both D and at most 499
    assert (grade.grade, grade.score, grade.hard_rule) == ("D", 499, code)
    assert grade.reasons["hard_rule"] == text
    assert grade.reasons["lower"][0]["code"] == record_type
    assert "东莞市中级人民法院，2026-02-01" in grade.reasons["lower"][0]["text"]


def test_expired_repaired_and_out_of_window_records_do_not_count() -> None:
    clean, noisy = good_firm(), good_firm()
    record(noisy, "penalty", date(2026, 3, 1), penalty_class="serious", status="repaired")
    record(noisy, "penalty", date(2024, 1, 1), penalty_class="general", status="expired")
    record(noisy, "penalty", date(2026, 3, 1), penalty_class="general", status="under_objection")
    # still marked active but its last day has passed (the nightly expiry has not run yet)
    record(
        noisy,
        "serious_dishonesty",
        date(2023, 1, 1),
        publish_max_until=date(2026, 5, 14),
    )
    # a red list entry past its validity does not count either
    record(noisy, "red_list", date(2024, 1, 1), valid_until=date(2026, 1, 1))
    regrade([clean.pk, noisy.pk], as_of=AS_OF, related_risky={})
    a, b = current(clean), current(noisy)
    assert (b.score, b.grade, b.hard_rule) == (a.score, a.grade, "") == (920, "A", "")
    assert b.reasons == a.reasons


def test_related_risk_from_the_caller_lowers_the_related_dimension() -> None:
    firm = good_firm()
    stats = run_regrade([firm.pk], as_of=AS_OF, related_risky={firm.pk: 2})
    grade = current(firm)
    assert stats.related_source == "caller"
    assert grade.dimension_scores["related"] == 50
    assert grade.score == 870
    assert {
        "code": "related_risky",
        "text": "两层关联关系内有 2 家企业存在严重失信记录，扣 50 分",
        "points": -50,
    } in grade.reasons["lower"]


def test_related_risk_from_the_graph_service() -> None:
    graph = pytest.importorskip("enterprises.graph")
    if not hasattr(graph, "snapshot"):
        pytest.skip("graph service without snapshot()")
    from enterprises.models import Shareholding

    parent, child, bystander = good_firm(), good_firm(), good_firm()
    Shareholding.objects.create(holder_enterprise=parent, target=child, share_percent=60)
    record(child, "serious_dishonesty", date(2026, 2, 1))
    graph.invalidate()
    stats = run_regrade(None, as_of=AS_OF)
    assert stats.related_source == "graph"
    assert current(parent).dimension_scores["related"] == 75
    assert current(child).dimension_scores["related"] == 100  # itself is not its relation
    assert current(bystander).dimension_scores["related"] == 100


def test_registration_status_and_missing_dates() -> None:
    firm = EnterpriseFactory.create(established_date=None, status="revoked")
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    grade = current(firm)
    # operation: 0 + tax default 40 + 0 years - 60 = -20 → 0 (loss shared: 40 of 60 → 80 points)
    assert grade.dimension_scores["operation"] == 0
    assert grade.reasons["lower"] == [
        {"code": "registration_status", "text": "登记状态为吊销，扣 80 分", "points": -80}
    ]
    # 10 × (30 + 10.5 + 0 + 4 + 5 + 2 + 10) = 615
    assert (grade.score, grade.grade) == (615, "C")


# ---------------------------------------------------------------------------------------------
# history, reproducibility, subsets
# ---------------------------------------------------------------------------------------------
def test_history_is_kept_with_exactly_one_current_grade() -> None:
    firm = good_firm()
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    first = current(firm)
    record(firm, "penalty", date(2026, 4, 1), penalty_class="general")
    regrade([firm.pk], as_of=AS_OF, related_risky={})
    rows = list(EnterpriseGrade.objects.filter(enterprise=firm).order_by("id"))
    assert [r.is_current for r in rows] == [False, True]
    assert rows[0].pk == first.pk and rows[0].score == 920
    assert rows[1].score == 860
    assert EnterpriseGrade.objects.filter(enterprise=firm, is_current=True).count() == 1


def test_same_data_same_version_same_grade() -> None:
    firms = [good_firm(), EnterpriseFactory.create(established_date=date(2019, 9, 9))]
    record(firms[1], "penalty", date(2026, 3, 1), penalty_class="minor")
    regrade(None, as_of=AS_OF, related_risky={})
    regrade(None, as_of=AS_OF, related_risky={})
    for firm in firms:
        old, new = EnterpriseGrade.objects.filter(enterprise=firm).order_by("id")
        assert (old.is_current, new.is_current) == (False, True)
        assert (old.scheme_version, old.score, old.grade, old.hard_rule, old.digest) == (
            new.scheme_version,
            new.score,
            new.grade,
            new.hard_rule,
            new.digest,
        )
        assert (old.dimension_scores, old.reasons) == (new.dimension_scores, new.reasons)
    assert old.reasons["actions"][0]["code"] == "minor_penalty_repair"


def test_skip_unchanged_writes_only_real_changes() -> None:
    steady, changing = good_firm(), good_firm()
    regrade(None, as_of=AS_OF, related_risky={})
    stats = run_regrade(None, as_of=AS_OF, related_risky={}, skip_unchanged=True)
    assert (stats.graded, stats.written, stats.unchanged) == (2, 0, 2)
    record(changing, "enforcement", date(2026, 4, 1))
    stats = run_regrade(None, as_of=AS_OF, related_risky={}, skip_unchanged=True)
    assert (stats.written, stats.unchanged) == (1, 1)
    assert EnterpriseGrade.objects.filter(enterprise=steady).count() == 1
    assert EnterpriseGrade.objects.filter(enterprise=changing).count() == 2
    assert current(changing).score == 890


def test_regrading_a_subset_touches_only_that_subset() -> None:
    a, b, c = good_firm(), good_firm(), good_firm()
    regrade(None, as_of=AS_OF, related_risky={})
    before = {g.pk: g.enterprise_id for g in EnterpriseGrade.objects.all()}
    assert regrade([a.pk, c.pk, 999_999], as_of=AS_OF, related_risky={}) == 2
    b_rows = EnterpriseGrade.objects.filter(enterprise=b)
    assert [(g.pk, g.is_current) for g in b_rows] == [
        (pk, True) for pk, eid in before.items() if eid == b.pk
    ]
    assert EnterpriseGrade.objects.filter(enterprise=a).count() == 2
    assert EnterpriseGrade.objects.filter(enterprise=c).count() == 2
    assert regrade([], as_of=AS_OF) == 0


def test_every_enterprise_is_graded_even_without_records() -> None:
    firms = [EnterpriseFactory.create(established_date=date(2021, 5, 15)) for _ in range(3)]
    assert regrade(as_of=AS_OF, related_risky={}) == 3
    grade = current(firms[0])
    # 5 years exactly on AS_OF: operation 40 + 30; 10 × (30 + 10.5 + 14 + 4 + 5 + 2 + 10) = 755
    assert (grade.score, grade.grade) == (755, "B")
    assert grade.reasons == {
        "raise": [{"code": "years_established", "text": "成立已满 5 年，加 60 分", "points": 60}],
        "lower": [],
        "actions": [],
    }


# ---------------------------------------------------------------------------------------------
# schemes
# ---------------------------------------------------------------------------------------------
def test_default_scheme_row_is_created_once_and_active() -> None:
    scheme = ensure_default_scheme()
    again = ensure_default_scheme()
    assert scheme.pk == again.pk and scheme.is_active
    assert scheme.definition == DEFAULT_SCHEME
    assert ScoreScheme.objects.count() == 1
    weights = [d["weight"] for d in DEFAULT_SCHEME["dimensions"]]
    assert abs(sum(weights) - 1) < 1e-12
    assert [d["name"] for d in DEFAULT_SCHEME["dimensions"]] == [
        "遵纪守法",
        "履约践诺",
        "经营与纳税",
        "社保公积金",
        "公用事业缴费",
        "资质荣誉",
        "关联风险",
    ]


def test_a_new_scheme_version_is_recorded_on_its_grades() -> None:
    firm = good_firm()
    definition = copy.deepcopy(DEFAULT_SCHEME)
    definition["version"] = "2026.2"
    definition["grades"][0]["min_score"] = 950
    scheme = ScoreScheme.objects.create(version="2026.2", name="试行", definition=definition)
    regrade([firm.pk], scheme=scheme, as_of=AS_OF, related_risky={})
    grade = current(firm)
    assert (grade.scheme_version, grade.score, grade.grade) == ("2026.2", 920, "B")


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (lambda d: d["dimensions"][0].update(weight=0.5), "权重之和应为 1"),
        (lambda d: d["dimensions"][0]["leaves"][0].update(feature="nope"), "未知特征"),
        (lambda d: d["grades"].reverse(), "从高到低"),
        (lambda d: d["hard_rules"][0].update(grade="E"), "未定义的等级"),
        (lambda d: d["dimensions"][2]["leaves"][0].update(map={"Z": 1}), "未知取值 Z"),
    ],
)
def test_bad_definitions_are_refused_with_the_fault_named(change: Any, fault: str) -> None:
    definition = copy.deepcopy(DEFAULT_SCHEME)
    change(definition)
    with pytest.raises(SchemeError, match=fault):
        compile_scheme(definition)


# ---------------------------------------------------------------------------------------------
# task, incremental regrading, command
# ---------------------------------------------------------------------------------------------
def test_task_runs_eagerly() -> None:
    firm = good_firm()
    result = regrade_enterprises.delay([firm.pk]).get()
    assert result["graded"] == 1 and result["written"] == 1
    assert result["scheme_version"] == "2026.1"
    assert current(firm).scheme_version == "2026.1"


def test_records_changed_regrades_after_commit_only(
    django_capture_on_commit_callbacks: Any,
) -> None:
    firm = good_firm()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        records_changed({firm.pk})
        assert not EnterpriseGrade.objects.exists()
    assert len(callbacks) == 1
    assert current(firm).grade in "ABCD"
    # an unchanged repeat writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        records_changed([firm.pk])
    assert EnterpriseGrade.objects.filter(enterprise=firm).count() == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        records_changed(set())
    assert callbacks == []


def test_records_changed_on_a_rolled_back_transaction_does_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    firm = good_firm()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        records_changed({firm.pk})
        transaction.set_rollback(True)
    assert callbacks == []
    assert not EnterpriseGrade.objects.exists()


def test_command_regrades_all_or_named_enterprises() -> None:
    a, b = good_firm(), good_firm()
    out = StringIO()
    call_command("regrade", "--all", "--as-of", "2026-05-15", "--json", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("评价方案 2026.1：评价 2 家企业，写入 2 条，未变化 0 条（A 2，B 0")
    assert lines[1].startswith("用时 ")
    assert '"written": 2' in lines[-1]
    out = StringIO()
    call_command("regrade", "--enterprise", b.uscc.lower(), "--as-of", "2026-05-15", stdout=out)
    assert "评价 1 家企业，写入 1 条" in out.getvalue()
    assert EnterpriseGrade.objects.filter(enterprise=a).count() == 1
    assert EnterpriseGrade.objects.filter(enterprise=b).count() == 2
    out = StringIO()
    call_command("regrade", "--all", "--skip-unchanged", "--as-of", "2026-05-15", stdout=out)
    assert "写入 0 条，未变化 2 条" in out.getvalue()


def test_command_refuses_unclear_requests() -> None:
    with pytest.raises(CommandError, match="--all 或 --enterprise"):
        call_command("regrade")
    with pytest.raises(CommandError, match="未登记"):
        call_command("regrade", "--enterprise", "91441900MA00000000")
    with pytest.raises(CommandError, match=r"没有版本为 9\.9"):
        call_command("regrade", "--all", "--scheme", "9.9")


def test_a_regrade_is_a_handful_of_queries_whatever_the_number_of_firms(
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(5):
        good_firm()
    ensure_default_scheme()
    # scheme, (lock and settings on PostgreSQL), enterprises, aggregates, details, one UPDATE,
    # one insert, and the matching profiles (one upsert, one delete); the same count for 5
    # firms as for a million
    with django_assert_max_num_queries(14):
        assert regrade(as_of=AS_OF, related_risky={}) == 5


def test_records_changed_queues_a_full_regrade_for_huge_sets(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    firm = good_firm()
    monkeypatch.setattr(scoring, "FULL_REGRADE_ABOVE", 0)
    with django_capture_on_commit_callbacks(execute=True):
        records_changed({firm.pk, 424242})
    assert current(firm).scheme_version == "2026.1"
