"""Credit grading (信用评价): the scorecard as versioned data and a vectorised engine.

A scheme (`ScoreScheme.definition`, the default is `DEFAULT_SCHEME`, documented in
docs/SCORING.md) is an indicator tree: dimensions with weights summing to 1, each with a base and
leaves. A leaf reads one feature of an enterprise and gives points on the dimension's 0–100 scale
by one of three rules (`per_item`, `map`, `bands`). A dimension score is its base plus its
leaves' points, clipped to 0–100; the score is 10 × Σ weight × dimension score (0–1000), the
grade follows the thresholds, and hard rules force a grade (and cap the score) whatever the sum.

The engine reads the features of every selected enterprise with a handful of grouped aggregate
queries over ACTIVE records (never one ORM row at a time), computes all scores at once with numpy,
and writes the grades back in bulk (COPY on PostgreSQL, bulk_create elsewhere) in one
transaction. The only per-enterprise Python is turning the top three positive and negative leaf
contributions (chosen with numpy) into sentences, from memoised fragments.

Same data, same scheme version and same `as_of` date → the same grades, reasons and digest.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, ExtractDay, ExtractMonth, ExtractYear
from django.utils import timezone

from enterprises.models import (
    CreditRecord,
    Enterprise,
    EnterpriseGrade,
    EnterpriseStatus,
    Fulfilment,
    RecordStatus,
    RecordType,
    ScoreScheme,
)
from lending.matching import refresh_profiles

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Features: what a leaf rule may read. Counts and months are over ACTIVE records only (status
# active and still inside the publication window on the grading day).
# ---------------------------------------------------------------------------------------------
FEATURES: dict[str, str] = {
    "penalties_minor": "有效的轻微行政处罚条数",
    "penalties_general": "有效的一般行政处罚条数",
    "penalties_serious": "有效的严重行政处罚条数",
    "enforcement": "有效的行政强制记录条数",
    "abnormal_operation": "经营异常名录记录条数",
    "dishonest_debtor": "失信被执行人记录条数",
    "serious_dishonesty": "严重失信主体名单记录条数",
    "commitments_fulfilled": "已履约的信用承诺项数",
    "commitments_breached": "未履约的信用承诺项数",
    "judgments_defendant": "作为被告的司法判决件数（value 含“被告”）",
    "tax_grade": "最近一次纳税信用等级（A/B/M/C/D，按决定日期取最新）",
    "years_established": "成立满整年数（评价日计）",
    "registration_status": "登记状态（存续/吊销/注销/迁出）",
    "si_months_paid": "社会保险已缴月数（各年度记录之和）",
    "si_months_arrears": "社会保险欠缴月数（各年度记录之和）",
    "hf_months_paid": "住房公积金已缴月数（各年度记录之和）",
    "hf_months_arrears": "住房公积金欠缴月数（各年度记录之和）",
    "utility_months_arrears": "水电气欠费月数（未填月数的记录按 1 个月计）",
    "red_list": "在有效期内的守信激励名单项数",
    "qualifications": "在有效期内的资质项数",
    "awards": "行政奖励/荣誉项数",
    "related_risky": "两层关联关系内存在严重失信记录的企业数",
}
CATEGORIES: dict[str, list[str]] = {
    "tax_grade": ["A", "B", "M", "C", "D"],
    "registration_status": list(EnterpriseStatus.values),
}
# Leaves on these features name the latest record in their reason ("（部门，日期）").
DETAIL_FEATURES: dict[str, tuple[str, str]] = {
    "penalties_minor": (RecordType.PENALTY, "minor"),
    "penalties_general": (RecordType.PENALTY, "general"),
    "penalties_serious": (RecordType.PENALTY, "serious"),
    "enforcement": (RecordType.ENFORCEMENT, ""),
    "abnormal_operation": (RecordType.ABNORMAL_OPERATION, ""),
    "dishonest_debtor": (RecordType.DISHONEST_DEBTOR, ""),
    "serious_dishonesty": (RecordType.SERIOUS_DISHONESTY, ""),
}
_DETAIL_KEY = {v: k for k, v in DETAIL_FEATURES.items()}
# Records whose enterprise is "risky" for its related parties (关联风险).
RISKY_FEATURES = ("penalties_serious", "dishonest_debtor", "serious_dishonesty")

SCALE = 10  # points on the 1000 scale per dimension point at weight 1

DEFAULT_VERSION = "2026.1"
DEFAULT_SCHEME: dict[str, Any] = {
    "version": DEFAULT_VERSION,
    "name": "东莞市企业公共信用综合评价（2026 版）",
    "max_score": 1000,
    "dimensions": [
        {
            "code": "law",
            "name": "遵纪守法",
            "weight": 0.30,
            "base": 100,
            "leaves": [
                {
                    "code": "penalties_minor",
                    "name": "轻微行政处罚",
                    "feature": "penalties_minor",
                    "per_item": -5,
                    "lower": "有 {n} 条轻微行政处罚{detail}，扣 {p} 分",
                },
                {
                    "code": "penalties_general",
                    "name": "一般行政处罚",
                    "feature": "penalties_general",
                    "per_item": -20,
                    "lower": "有 {n} 条一般行政处罚{detail}，扣 {p} 分",
                },
                {
                    "code": "penalties_serious",
                    "name": "严重行政处罚",
                    "feature": "penalties_serious",
                    "per_item": -50,
                    "lower": "有 {n} 条严重行政处罚{detail}，扣 {p} 分",
                },
                {
                    "code": "enforcement",
                    "name": "行政强制",
                    "feature": "enforcement",
                    "per_item": -10,
                    "lower": "有 {n} 条行政强制记录{detail}，扣 {p} 分",
                },
                {
                    "code": "abnormal_operation",
                    "name": "经营异常名录",
                    "feature": "abnormal_operation",
                    "per_item": -40,
                    "lower": "被列入经营异常名录{detail}，扣 {p} 分",
                },
                {
                    "code": "dishonest_debtor",
                    "name": "失信被执行人",
                    "feature": "dishonest_debtor",
                    "per_item": -60,
                    "lower": "被列为失信被执行人{detail}，扣 {p} 分",
                },
                {
                    "code": "serious_dishonesty",
                    "name": "严重失信主体名单",
                    "feature": "serious_dishonesty",
                    "per_item": -100,
                    "lower": "被列入严重失信主体名单{detail}，扣 {p} 分",
                },
            ],
        },
        {
            "code": "contract",
            "name": "履约践诺",
            "weight": 0.15,
            "base": 70,
            "leaves": [
                {
                    "code": "commitments_fulfilled",
                    "name": "信用承诺履约",
                    "feature": "commitments_fulfilled",
                    "per_item": 10,
                    "max": 30,
                    "raise": "已履行 {n} 项信用承诺，加 {p} 分",
                },
                {
                    "code": "commitments_breached",
                    "name": "信用承诺未履约",
                    "feature": "commitments_breached",
                    "per_item": -20,
                    "lower": "有 {n} 项信用承诺未履约，扣 {p} 分",
                },
                {
                    "code": "judgments_defendant",
                    "name": "司法判决（被告）",
                    "feature": "judgments_defendant",
                    "per_item": -10,
                    "min": -30,
                    "lower": "作为被告的司法判决 {n} 件，扣 {p} 分",
                },
            ],
        },
        {
            "code": "operation",
            "name": "经营与纳税",
            "weight": 0.20,
            "base": 0,
            "leaves": [
                {
                    "code": "tax_grade",
                    "name": "纳税信用等级",
                    "feature": "tax_grade",
                    "map": {"A": 60, "B": 50, "M": 40, "C": 20, "D": 0},
                    "default": 40,
                    "raise": "纳税信用等级为 {n} 级，加 {p} 分",
                    "lower": "纳税信用等级为 {n} 级，扣 {p} 分",
                },
                {
                    "code": "years_established",
                    "name": "经营年限",
                    "feature": "years_established",
                    "bands": [[1, 10], [3, 20], [5, 30], [10, 40]],
                    "raise": "成立已满 {n} 年，加 {p} 分",
                },
                {
                    "code": "registration_status",
                    "name": "登记状态",
                    "feature": "registration_status",
                    "map": {"active": 0, "moved_out": -20, "revoked": -60, "cancelled": -60},
                    "default": 0,
                    "labels": {
                        "active": "存续",
                        "moved_out": "迁出",
                        "revoked": "吊销",
                        "cancelled": "注销",
                    },
                    "lower": "登记状态为{n}，扣 {p} 分",
                },
            ],
        },
        {
            "code": "social",
            "name": "社保公积金",
            "weight": 0.10,
            "base": 40,
            "leaves": [
                {
                    "code": "si_months_paid",
                    "name": "社会保险缴纳",
                    "feature": "si_months_paid",
                    "bands": [[1, 20], [12, 30], [24, 40]],
                    "raise": "已缴纳社会保险 {n} 个月，加 {p} 分",
                },
                {
                    "code": "hf_months_paid",
                    "name": "住房公积金缴存",
                    "feature": "hf_months_paid",
                    "bands": [[1, 10], [12, 20]],
                    "raise": "已缴存住房公积金 {n} 个月，加 {p} 分",
                },
                {
                    "code": "si_months_arrears",
                    "name": "社会保险欠缴",
                    "feature": "si_months_arrears",
                    "per_item": -10,
                    "lower": "欠缴社会保险 {n} 个月，扣 {p} 分",
                },
                {
                    "code": "hf_months_arrears",
                    "name": "住房公积金欠缴",
                    "feature": "hf_months_arrears",
                    "per_item": -5,
                    "lower": "欠缴住房公积金 {n} 个月，扣 {p} 分",
                },
            ],
        },
        {
            "code": "utilities",
            "name": "公用事业缴费",
            "weight": 0.05,
            "base": 100,
            "leaves": [
                {
                    "code": "utility_months_arrears",
                    "name": "水电气欠费",
                    "feature": "utility_months_arrears",
                    "per_item": -20,
                    "lower": "水电气欠费 {n} 个月，扣 {p} 分",
                },
            ],
        },
        {
            "code": "honours",
            "name": "资质荣誉",
            "weight": 0.10,
            "base": 20,
            "leaves": [
                {
                    "code": "red_list",
                    "name": "守信激励名单",
                    "feature": "red_list",
                    "per_item": 30,
                    "max": 60,
                    "raise": "列入 {n} 项守信激励名单，加 {p} 分",
                },
                {
                    "code": "qualifications",
                    "name": "资质",
                    "feature": "qualifications",
                    "per_item": 20,
                    "max": 40,
                    "raise": "持有 {n} 项有效资质，加 {p} 分",
                },
                {
                    "code": "awards",
                    "name": "行政奖励/荣誉",
                    "feature": "awards",
                    "per_item": 10,
                    "max": 30,
                    "raise": "获得 {n} 项行政奖励或荣誉，加 {p} 分",
                },
            ],
        },
        {
            "code": "related",
            "name": "关联风险",
            "weight": 0.10,
            "base": 100,
            "leaves": [
                {
                    "code": "related_risky",
                    "name": "关联企业严重失信",
                    "feature": "related_risky",
                    "per_item": -25,
                    "lower": "两层关联关系内有 {n} 家企业存在严重失信记录，扣 {p} 分",
                },
            ],
        },
    ],
    # Highest first; a score at or above min_score gets the grade.
    "grades": [
        {"grade": "A", "min_score": 800},
        {"grade": "B", "min_score": 650},
        {"grade": "C", "min_score": 500},
        {"grade": "D", "min_score": 0},
    ],
    "hard_rules": [
        {
            "code": "serious_dishonesty",
            "feature": "serious_dishonesty",
            "at_least": 1,
            "grade": "D",
            "max_score": 499,
            "text": "被列入严重失信主体名单，信用等级直接评为 D",
        },
        {
            "code": "dishonest_debtor",
            "feature": "dishonest_debtor",
            "at_least": 1,
            "grade": "D",
            "max_score": 499,
            "text": "被列为失信被执行人，信用等级直接评为 D",
        },
    ],
    # What the enterprise can do; {p} = points it would win back. See ACTION_CODES.
    "actions": {
        "penalty_repair": "该行政处罚（{detail}）自 {date} 起可申请信用修复，修复后可加回 {p} 分",
        "penalty_repair_now": (
            "该行政处罚（{detail}）已过最短公示期，现在即可申请信用修复，修复后可加回 {p} 分"
        ),
        "minor_penalty_repair": (
            "轻微行政处罚（{detail}）履行处罚决定后即可申请信用修复，修复后可加回 {p} 分"
        ),
        "serious_dishonesty_repair": (
            "严重失信主体名单（{detail}）自 {date} 起可申请信用修复，修复后可加回 {p} 分"
        ),
        "serious_dishonesty_repair_now": (
            "严重失信主体名单（{detail}）已过最短公示期，现在即可申请信用修复，修复后可加回 {p} 分"
        ),
        "dishonest_debtor_exit": (
            "履行生效法律文书确定的义务后，可向执行法院申请移出失信被执行人名单（{detail}），"
            "可加回 {p} 分"
        ),
        "abnormal_operation_exit": (
            "纠正列入原因后，可向市场监督管理部门申请移出经营异常名录（{detail}），可加回 {p} 分"
        ),
        "si_arrears": "补缴社保欠费（共 {n} 个月）后，人社部门更新缴费记录即可加回 {p} 分",
        "hf_arrears": "补缴住房公积金（共 {n} 个月）后，公积金中心更新缴存记录即可加回 {p} 分",
        "utility_arrears": "结清水电气欠费（共 {n} 个月）后，供应单位更新记录即可加回 {p} 分",
        "commitment_breached": "履行未履约的信用承诺（{n} 项）并报承诺受理部门确认，可加回 {p} 分",
        "tax_grade": (
            "纳税信用等级为 {n} 级：依法补正申报、缴清欠税后，可在下一评价年度提升等级，"
            "升至 M 级可加回 {p} 分"
        ),
    },
}
ACTION_CODES = tuple(DEFAULT_SCHEME["actions"])


class SchemeError(ValueError):
    """A scheme definition the engine cannot interpret; the message names every fault."""


# ---------------------------------------------------------------------------------------------
# Scheme: validation and compilation into arrays
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    dimension: int
    feature: str
    kind: str  # per_item | map | bands
    neutral: float
    per_item: float = 0.0
    low: float = -np.inf
    high: float = np.inf
    table: tuple[float, ...] = ()  # map: points per category code, default last
    labels: tuple[str, ...] = ()  # map: shown name per category code
    thresholds: tuple[float, ...] = ()
    band_points: tuple[float, ...] = ()  # bands: points below the first threshold first
    raise_text: str = ""
    lower_text: str = ""


@dataclass(frozen=True)
class HardRule:
    code: str
    feature: str
    at_least: float
    grade: int  # index into CompiledScheme.grades
    max_score: int
    text: str


@dataclass(frozen=True)
class CompiledScheme:
    version: str
    definition: dict[str, Any]
    dimension_codes: tuple[str, ...]
    dimension_names: tuple[str, ...]
    weights: np.ndarray
    bases: np.ndarray  # base + Σ neutral of the dimension's leaves
    leaves: tuple[Leaf, ...]
    grades: tuple[str, ...]  # highest first
    grade_floors: np.ndarray  # min_score per grade, highest first
    hard_rules: tuple[HardRule, ...]
    actions: dict[str, str]
    max_score: int


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compile_scheme(definition: dict[str, Any]) -> CompiledScheme:
    """Check a definition and turn it into arrays; raise SchemeError naming every fault."""
    faults: list[str] = []
    dims = definition.get("dimensions") or []
    if not dims:
        faults.append("dimensions: 至少需要一个维度")
    leaves: list[Leaf] = []
    bases: list[float] = []
    weights: list[float] = []
    codes: list[str] = []
    for d, dim in enumerate(dims):
        where = f"dimensions[{d}]"
        code, weight, base = dim.get("code", ""), dim.get("weight"), dim.get("base", 0)
        if not code or code in codes:
            faults.append(f"{where}.code: 缺失或重复")
        if not _number(weight) or weight < 0:
            faults.append(f"{where}.weight: 应为非负数")
            weight = 0
        if not _number(base) or not 0 <= base <= 100:
            faults.append(f"{where}.base: 应在 0–100 之间")
            base = 0
        codes.append(code)
        weights.append(float(weight))
        neutral_sum = 0.0
        for j, raw in enumerate(dim.get("leaves") or []):
            leaf = _compile_leaf(raw, d, f"{where}.leaves[{j}]", faults)
            if leaf is not None:
                if any(existing.code == leaf.code for existing in leaves):
                    faults.append(f"{where}.leaves[{j}].code: 重复 {leaf.code}")
                leaves.append(leaf)
                neutral_sum += leaf.neutral
        if not 0 <= base + neutral_sum <= 100:
            faults.append(f"{where}: 基础分加各指标中性分应在 0–100 之间")
        bases.append(float(base) + neutral_sum)
    if weights and abs(sum(weights) - 1) > 1e-9:
        faults.append(f"dimensions: 权重之和应为 1，实为 {sum(weights):g}")
    grades = definition.get("grades") or []
    names = [g.get("grade", "") for g in grades]
    floors = [g.get("min_score") for g in grades]
    if not grades or not all(_number(f) for f in floors):
        faults.append("grades: 每个等级需要 grade 和 min_score")
        floors = [0] * len(grades)
    elif floors != sorted(floors, reverse=True) or floors[-1] != 0:
        faults.append("grades: min_score 应从高到低排列，最后一个等级为 0")
    max_score = int(definition.get("max_score", 1000))
    if max_score != SCALE * 100:
        faults.append(f"max_score: 仅支持 {SCALE * 100}")
    hard_rules: list[HardRule] = []
    for k, rule in enumerate(definition.get("hard_rules") or []):
        where = f"hard_rules[{k}]"
        if rule.get("feature") not in FEATURES or rule.get("feature") in CATEGORIES:
            faults.append(f"{where}.feature: 未知或非数值特征 {rule.get('feature')!r}")
            continue
        if rule.get("grade") not in names:
            faults.append(f"{where}.grade: 未定义的等级 {rule.get('grade')!r}")
            continue
        hard_rules.append(
            HardRule(
                code=str(rule.get("code") or rule["feature"]),
                feature=rule["feature"],
                at_least=float(rule.get("at_least", 1)),
                grade=names.index(rule["grade"]),
                max_score=int(rule.get("max_score", max_score)),
                text=str(rule.get("text", "")),
            )
        )
    actions = dict(definition.get("actions") or {})
    unknown_actions = sorted(set(actions) - set(ACTION_CODES))
    if unknown_actions:
        faults.append(f"actions: 未知的行动 {', '.join(unknown_actions)}")
    version = str(definition.get("version", ""))
    if not version:
        faults.append("version: 缺失")
    if faults:
        raise SchemeError("；".join(faults))
    return CompiledScheme(
        version=version,
        definition=definition,
        dimension_codes=tuple(codes),
        dimension_names=tuple(str(dim.get("name", dim["code"])) for dim in dims),
        weights=np.array(weights, dtype=np.float64),
        bases=np.array(bases, dtype=np.float64),
        leaves=tuple(leaves),
        grades=tuple(names),
        grade_floors=np.array(floors, dtype=np.float64),
        hard_rules=tuple(hard_rules),
        actions=actions,
        max_score=max_score,
    )


def _compile_leaf(raw: dict[str, Any], d: int, where: str, faults: list[str]) -> Leaf | None:
    feature = raw.get("feature", "")
    if feature not in FEATURES:
        faults.append(f"{where}.feature: 未知特征 {feature!r}")
        return None
    common: dict[str, Any] = {
        "code": str(raw.get("code") or feature),
        "name": str(raw.get("name", feature)),
        "dimension": d,
        "feature": feature,
        "raise_text": str(raw.get("raise", "")),
        "lower_text": str(raw.get("lower", "")),
    }
    categorical = feature in CATEGORIES
    if "map" in raw:
        if not categorical:
            faults.append(f"{where}: map 规则只能用于分类特征")
            return None
        mapping, default = raw["map"], raw.get("default", 0)
        if not all(_number(v) for v in [*mapping.values(), default]):
            faults.append(f"{where}.map: 分值应为数字")
            return None
        categories = CATEGORIES[feature]
        unknown = sorted(set(mapping) - set(categories))
        if unknown:
            faults.append(f"{where}.map: 未知取值 {', '.join(unknown)}")
        labels = raw.get("labels", {})
        return Leaf(
            **common,
            kind="map",
            neutral=float(raw.get("neutral", default)),
            table=(*(float(mapping.get(c, default)) for c in categories), float(default)),
            labels=tuple(str(labels.get(c, c)) for c in categories),
        )
    if categorical:
        faults.append(f"{where}: 分类特征只能用 map 规则")
        return None
    if "per_item" in raw:
        values = [raw["per_item"], raw.get("min", -1e9), raw.get("max", 1e9)]
        if not all(_number(v) for v in values):
            faults.append(f"{where}.per_item: 应为数字")
            return None
        return Leaf(
            **common,
            kind="per_item",
            neutral=float(raw.get("neutral", 0)),
            per_item=float(raw["per_item"]),
            low=float(raw.get("min", -np.inf)),
            high=float(raw.get("max", np.inf)),
        )
    if "bands" in raw:
        bands = raw["bands"]
        ok = bool(bands) and all(
            isinstance(b, list | tuple) and len(b) == 2 and _number(b[0]) and _number(b[1])
            for b in bands
        )
        thresholds = [float(b[0]) for b in bands] if ok else []
        if not ok or thresholds != sorted(set(thresholds)):
            faults.append(f"{where}.bands: 应为按门槛升序的 [门槛, 分值] 列表")
            return None
        return Leaf(
            **common,
            kind="bands",
            neutral=float(raw.get("neutral", 0)),
            thresholds=tuple(thresholds),
            band_points=(float(raw.get("below", 0)), *(float(b[1]) for b in bands)),
        )
    faults.append(f"{where}: 需要 per_item、map 或 bands 之一")
    return None


def ensure_default_scheme() -> ScoreScheme:
    """The row of DEFAULT_SCHEME's version (created if missing, never overwritten: a version
    does not change once grades refer to it); it becomes the active scheme when none is."""
    compile_scheme(DEFAULT_SCHEME)
    with transaction.atomic():
        scheme, _created = ScoreScheme.objects.get_or_create(
            version=DEFAULT_VERSION,
            defaults={
                "name": DEFAULT_SCHEME["name"],
                "definition": copy.deepcopy(DEFAULT_SCHEME),
            },
        )
        if not ScoreScheme.objects.filter(is_active=True).exists():
            ScoreScheme.objects.filter(pk=scheme.pk).update(is_active=True)
            scheme.is_active = True
    return scheme


def active_scheme() -> ScoreScheme:
    return ScoreScheme.objects.filter(is_active=True).first() or ensure_default_scheme()


# ---------------------------------------------------------------------------------------------
# Features, read with grouped aggregates
# ---------------------------------------------------------------------------------------------
@dataclass
class Detail:
    department: str
    decision_date: date
    record_id: int

    def text(self) -> str:
        return f"{self.department}，{self.decision_date.isoformat()}"


@dataclass
class Repairable:
    """The enterprise's active record that can be repaired first (for the actions)."""

    first_day: date  # publish_min_until + 1 day
    detail: Detail
    feature: str


@dataclass
class Features:
    ids: np.ndarray  # int64, ascending
    values: dict[str, np.ndarray]  # per feature, aligned with ids (categories: int codes, -1)
    latest: dict[str, dict[int, Detail]] = field(default_factory=dict)
    repair: dict[str, dict[int, Repairable]] = field(default_factory=dict)
    related_source: str = "none"

    def __len__(self) -> int:
        return int(self.ids.size)


_CHUNK = 20_000  # enterprise ids per IN (…) when a subset is graded
_FETCH = 50_000  # rows per fetchmany
_ROWS = 131_072  # enterprises per block of numpy work
PG_WORK_MEM = "256MB"  # for the regrade transaction only (SET LOCAL)


def _active(as_of: date) -> Q:
    return Q(status=RecordStatus.ACTIVE) & (
        Q(publish_max_until__isnull=True) | Q(publish_max_until__gte=as_of)
    )


def _fetch_array(qs: QuerySet[Any], width: int) -> np.ndarray:
    """An all-integer values() query as an int64 array (rows, width), fetched in batches (a
    server-side cursor on PostgreSQL): no model instances, no converters, no million-tuple list
    and no whole result held by the driver."""
    sql, params = qs.query.sql_with_params()
    parts = [np.zeros((0, width), dtype=np.int64)]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(_FETCH):
            parts.append(np.array(batch, dtype=np.int64).reshape(-1, width))
    return np.concatenate(parts)


def _chunks(ids: np.ndarray | None) -> Iterator[list[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, ids.size, _CHUNK):
        yield ids[start : start + _CHUNK].tolist()


def _int(expression: Any) -> Cast:
    return Cast(expression, IntegerField())


def _record_aggregates(as_of: date) -> dict[str, Any]:
    def count(q: Q) -> Count:
        return Count("id", filter=q)

    def months(record_type: str, column: str) -> Coalesce:
        return Coalesce(Sum(column, filter=Q(record_type=record_type)), 0)

    penalty = Q(record_type=RecordType.PENALTY)
    in_force = Q(valid_until__isnull=True) | Q(valid_until__gte=as_of)
    grade_code = Case(
        *(When(value=g, then=Value(i)) for i, g in enumerate(CATEGORIES["tax_grade"])),
        default=Value(7),
        output_field=IntegerField(),
    )
    # the latest tax grade in one pass: max over (decision date as yyyymmdd) * 8 + grade code
    tax_key = (
        _int(ExtractYear("decision_date")) * 10000
        + _int(ExtractMonth("decision_date")) * 100
        + _int(ExtractDay("decision_date"))
    ) * 8 + grade_code
    return {
        "penalties_minor": count(penalty & Q(penalty_class="minor")),
        "penalties_general": count(penalty & Q(penalty_class="general")),
        "penalties_serious": count(penalty & Q(penalty_class="serious")),
        "enforcement": count(Q(record_type=RecordType.ENFORCEMENT)),
        "abnormal_operation": count(Q(record_type=RecordType.ABNORMAL_OPERATION)),
        "dishonest_debtor": count(Q(record_type=RecordType.DISHONEST_DEBTOR)),
        "serious_dishonesty": count(Q(record_type=RecordType.SERIOUS_DISHONESTY)),
        "commitments_fulfilled": count(
            Q(record_type=RecordType.COMMITMENT, fulfilment=Fulfilment.FULFILLED)
        ),
        "commitments_breached": count(
            Q(record_type=RecordType.COMMITMENT, fulfilment=Fulfilment.BREACHED)
        ),
        "judgments_defendant": count(Q(record_type=RecordType.JUDGMENT, value__contains="被告")),
        "si_months_paid": months(RecordType.SOCIAL_INSURANCE, "months_paid"),
        "si_months_arrears": months(RecordType.SOCIAL_INSURANCE, "months_arrears"),
        "hf_months_paid": months(RecordType.HOUSING_FUND, "months_paid"),
        "hf_months_arrears": months(RecordType.HOUSING_FUND, "months_arrears"),
        "utility_months_arrears": Coalesce(
            Sum(
                Coalesce("months_arrears", Value(1)),
                filter=Q(record_type=RecordType.UTILITY_PAYMENT),
            ),
            0,
        ),
        "red_list": count(Q(record_type=RecordType.RED_LIST) & in_force),
        "qualifications": count(Q(record_type=RecordType.QUALIFICATION) & in_force),
        "awards": count(Q(record_type=RecordType.AWARD)),
        "tax_key": Coalesce(Max(tax_key, filter=Q(record_type=RecordType.TAX_GRADE)), -1),
    }


SCORED_TYPES = [
    t for t in RecordType.values if t not in (RecordType.LICENSE, RecordType.INSPECTION)
]


def extract_features(
    enterprise_ids: Sequence[int] | np.ndarray | None = None,
    *,
    as_of: date | None = None,
    related_risky: dict[int, int] | np.ndarray | None = None,
) -> Features:
    """Every feature of the selected enterprises (None = all) as numpy arrays.

    `related_risky` is the number of risky related firms within two hops per enterprise id (or
    an array aligned with the sorted ids); None asks `enterprises.graph` when it offers
    `snapshot().related_risk(risky_ids, hops=2)`, else counts zero.
    """
    as_of = as_of or timezone.localdate()
    selected = None if enterprise_ids is None else np.unique(np.asarray(enterprise_ids, np.int64))

    # 1. the enterprises: id, established date, registration status
    status_code = Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(CATEGORIES["registration_status"])),
        default=Value(-1),
        output_field=IntegerField(),
    )
    parts = []
    for chunk in _chunks(selected):
        qs = Enterprise.objects.all()
        if chunk is not None:
            qs = qs.filter(id__in=chunk)
        query = (
            qs.order_by()
            .annotate(
                y=Coalesce(_int(ExtractYear("established_date")), 0),
                m=Coalesce(_int(ExtractMonth("established_date")), 0),
                d=Coalesce(_int(ExtractDay("established_date")), 0),
                st=status_code,
            )
            .values_list("id", "y", "m", "d", "st")
        )
        parts.append(_fetch_array(query, 5))
    base = np.concatenate(parts)
    del parts
    base = base[np.argsort(base[:, 0], kind="stable")]
    ids = base[:, 0].copy()
    n = ids.size
    values: dict[str, np.ndarray] = {}
    year, month, day = base[:, 1], base[:, 2], base[:, 3]
    before_anniversary = (month * 100 + day) > (as_of.month * 100 + as_of.day)
    years = as_of.year - year - before_anniversary.astype(np.int64)
    values["years_established"] = np.where(year > 0, np.maximum(years, 0), 0).astype(np.int32)
    values["registration_status"] = base[:, 4].astype(np.int32)
    del base

    # 2. counts and sums over the active records, one row per enterprise
    aggregates = _record_aggregates(as_of)
    names = list(aggregates)
    for name in names:
        values[name] = np.zeros(n, dtype=np.int32)
    values["tax_key"][:] = -1
    for chunk in _chunks(selected):
        records = CreditRecord.objects.filter(
            _active(as_of), enterprise__isnull=False, record_type__in=SCORED_TYPES
        )
        if chunk is not None:
            records = records.filter(enterprise_id__in=chunk)
        block = _fetch_array(
            records.order_by().values("enterprise_id").annotate(**aggregates), len(names) + 1
        )
        if not block.size or not n:
            continue
        pos = np.searchsorted(ids, block[:, 0])
        found = (pos < n) & (ids[np.minimum(pos, n - 1)] == block[:, 0])
        for k, name in enumerate(names, start=1):
            values[name][pos[found]] = block[found, k]
    tax_key = values.pop("tax_key")
    code = np.where(tax_key >= 0, tax_key.astype(np.int64) % 8, -1)
    values["tax_grade"] = np.where(code < len(CATEGORIES["tax_grade"]), code, -1).astype(np.int32)

    features = Features(ids=ids, values=values)
    _read_details(features, selected, as_of)
    _related(features, related_risky, as_of)
    return features


def _read_details(features: Features, selected: np.ndarray | None, as_of: date) -> None:
    """Latest record per detail leaf (for reasons) and the first repairable one (for actions):
    only records of the list and penalty types, a small share of all."""
    latest: dict[str, dict[int, Detail]] = {f: {} for f in DETAIL_FEATURES}
    repair: dict[str, dict[int, Repairable]] = {"penalty": {}, "serious_dishonesty": {}}
    types = sorted({t for t, _c in DETAIL_FEATURES.values()})
    for chunk in _chunks(selected):
        qs = CreditRecord.objects.filter(
            _active(as_of), enterprise__isnull=False, record_type__in=types
        )
        if chunk is not None:
            qs = qs.filter(enterprise_id__in=chunk)
        rows = qs.order_by().values_list(
            "enterprise_id",
            "record_type",
            "penalty_class",
            "source_department",
            "decision_date",
            "publish_min_until",
            "id",
        )
        for eid, record_type, penalty_class, department, decided, min_until, pk in rows.iterator(
            chunk_size=_FETCH
        ):
            key = _DETAIL_KEY.get(
                (record_type, penalty_class if record_type == RecordType.PENALTY else "")
            )
            if key is None:
                continue
            detail = Detail(department, decided, pk)
            known = latest[key].get(eid)
            if known is None or (decided, pk) > (known.decision_date, known.record_id):
                latest[key][eid] = detail
            group = "penalty" if record_type == RecordType.PENALTY else record_type
            if min_until is not None and group in repair:
                first_day = min_until + timedelta(days=1)
                have = repair[group].get(eid)
                if have is None or (first_day, pk) < (have.first_day, have.detail.record_id):
                    repair[group][eid] = Repairable(first_day, detail, key)
    features.latest, features.repair = latest, repair


def risky_enterprise_ids(as_of: date | None = None) -> list[int]:
    """Enterprises with an active serious record: serious penalty, dishonest debtor or the
    serious-dishonesty list (the sources of related-party risk)."""
    as_of = as_of or timezone.localdate()
    serious = Q(record_type=RecordType.PENALTY, penalty_class="serious") | Q(
        record_type__in=[RecordType.DISHONEST_DEBTOR, RecordType.SERIOUS_DISHONESTY]
    )
    return sorted(
        CreditRecord.objects.filter(_active(as_of), serious, enterprise__isnull=False)
        .order_by()
        .values_list("enterprise_id", flat=True)
        .distinct()
    )


def _related(
    features: Features, related_risky: dict[int, int] | np.ndarray | None, as_of: date
) -> None:
    n = len(features)
    if isinstance(related_risky, np.ndarray):
        features.values["related_risky"] = related_risky.astype(np.int32).reshape(n)
        features.related_source = "caller"
        return
    counts = np.zeros(n, dtype=np.int32)
    features.values["related_risky"] = counts
    if related_risky is None:
        related_risky = _related_from_graph(as_of)
        if related_risky is None:
            return
        features.related_source = "graph"
    else:
        features.related_source = "caller"
    if not related_risky:
        return
    keys = np.fromiter(related_risky.keys(), dtype=np.int64, count=len(related_risky))
    hits = np.fromiter(related_risky.values(), dtype=np.int32, count=len(related_risky))
    pos = np.searchsorted(features.ids, keys)
    found = (pos < n) & (features.ids[np.minimum(pos, max(n - 1, 0))] == keys)
    counts[pos[found]] = hits[found]


def _related_from_graph(as_of: date) -> dict[int, int] | None:
    """Number of risky firms within two hops, from the graph service when it exists."""
    try:
        from enterprises import graph

        related_risk = graph.snapshot().related_risk
    except (ImportError, AttributeError):
        return None
    risky = risky_enterprise_ids(as_of)
    if not risky:
        return {}
    try:
        found = related_risk(risky, hops=2)
    except Exception:  # a broken graph must not stop the nightly grading
        log.exception("related-party risk unavailable; 关联风险 counted as zero")
        return None
    return {
        int(eid): len({int(r) for r in related} - {int(eid)})
        for eid, related in found.items()
        if related
    }


# ---------------------------------------------------------------------------------------------
# Vectorised scoring
# ---------------------------------------------------------------------------------------------
@dataclass
class Scores:
    score: np.ndarray  # int64 0..1000
    grade: np.ndarray  # int64 index into scheme.grades
    dimensions: np.ndarray  # (n, dims) float64 0..100
    contributions: np.ndarray  # (n, leaves) float64 points on the 1000 scale vs. neutral
    shown: np.ndarray  # (n, leaves) int64 value named in the reason (count, months, code)
    hard_rule: np.ndarray  # int64 index into scheme.hard_rules, -1 none


def leaf_points(leaf: Leaf, x: np.ndarray) -> np.ndarray:
    if leaf.kind == "per_item":
        return np.clip(x * leaf.per_item, leaf.low, leaf.high)
    if leaf.kind == "map":
        table = np.asarray(leaf.table)
        codes = x.astype(np.int64)
        return table[np.where((codes >= 0) & (codes < table.size - 1), codes, table.size - 1)]
    index = np.searchsorted(np.asarray(leaf.thresholds), x, side="right")
    return np.asarray(leaf.band_points)[index]


def compute(scheme: CompiledScheme, features: Features) -> Scores:
    """Scores, grades, dimension scores and every leaf's contribution, for all at once (in
    blocks of rows, to bound the temporaries)."""
    n, leaves = len(features), scheme.leaves
    contributions = np.empty((n, len(leaves)), dtype=np.float64)
    shown = np.empty((n, len(leaves)), dtype=np.int32)
    dims = np.empty((n, len(scheme.dimension_codes)), dtype=np.float64)
    columns = [
        [j for j, leaf in enumerate(leaves) if leaf.dimension == d]
        for d in range(len(scheme.dimension_codes))
    ]
    for start in range(0, n, _ROWS):
        rows = slice(start, min(start + _ROWS, n))
        raw = contributions[rows]
        for j, leaf in enumerate(leaves):
            x = features.values[leaf.feature][rows]
            raw[:, j] = leaf_points(leaf, x) - leaf.neutral
            shown[rows, j] = x
        for d, cols in enumerate(columns):
            block = raw[:, cols]
            gains = np.where(block > 0, block, 0.0).sum(axis=1)
            losses = np.where(block < 0, block, 0.0).sum(axis=1)
            base = scheme.bases[d]
            total = base + gains + losses
            # a clipped dimension shares what it really lost (or gained) among its leaves pro
            # rata, so that the reasons add up to what the enterprise actually lost
            with np.errstate(divide="ignore", invalid="ignore"):
                gain_scale = np.where(total > 100, (100 - base - losses) / gains, 1.0)
                loss_scale = np.where(total < 0, -(base + gains) / losses, 1.0)
            scale = np.where(block > 0, gain_scale[:, None], loss_scale[:, None])
            raw[:, cols] = block * scale * (SCALE * scheme.weights[d])
            dims[rows, d] = np.clip(total, 0, 100)
    exact = dims @ (scheme.weights * SCALE)
    score = np.floor(np.round(exact, 6) + 0.5).astype(np.int64)
    np.clip(score, 0, scheme.max_score, out=score)
    # grades are listed highest first: count the floors a score does not reach
    grade = (score[:, None] < scheme.grade_floors[None, :]).sum(axis=1).astype(np.int64)
    hard = np.full(n, -1, dtype=np.int64)
    for k in range(len(scheme.hard_rules) - 1, -1, -1):  # the first listed rule wins
        rule = scheme.hard_rules[k]
        hit = features.values[rule.feature] >= rule.at_least
        hard[hit] = k
    for k, rule in enumerate(scheme.hard_rules):
        hit = hard == k
        score[hit] = np.minimum(score[hit], rule.max_score)
        grade[hit] = np.maximum(grade[hit], rule.grade)
    return Scores(score, grade, dims, contributions, shown, hard)


# ---------------------------------------------------------------------------------------------
# Reasons and actions (plain Chinese), as JSON text
# ---------------------------------------------------------------------------------------------
def _points(value: float) -> int:
    return int(np.floor(abs(value) + 0.5 + 1e-9))


def _item(code: str, text: str, points: int) -> str:
    return json.dumps({"code": code, "text": text, "points": points}, ensure_ascii=False)


# Actions that name no particular record: (feature, action code). The others (penalties and
# lists) are worked out per enterprise from its records.
COUNT_ACTIONS = (
    ("si_months_arrears", "si_arrears"),
    ("hf_months_arrears", "hf_arrears"),
    ("utility_months_arrears", "utility_arrears"),
    ("commitments_breached", "commitment_breached"),
    ("tax_grade", "tax_grade"),
)
_LOW_TAX = [CATEGORIES["tax_grade"].index(g) for g in ("C", "D")]
_MASK24 = (1 << 24) - 1


def _encode(kind: np.ndarray | int, value: np.ndarray, points: np.ndarray) -> np.ndarray:
    """One int64 per reason or action: kind + 1 (bits 40…), value shown + 1 (bits 12…39),
    points (bits 0…11); 0 when there are no points."""
    value = np.clip(np.asarray(value).astype(np.int64) + 1, 0, _MASK24)
    kind = np.asarray(kind).astype(np.int64) + 1
    code = (kind << 40) | (value << 12) | np.minimum(points, 4095)
    return np.where(points > 0, code, 0)


def _decode(code: int) -> tuple[int, int, int]:
    return (code >> 40) - 1, ((code >> 12) & _MASK24) - 1, code & 4095


def _top(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column index and value of the k largest entries per row, largest first; ties go to the
    column listed first (argmax keeps the first)."""
    work = values.copy()
    rows = np.arange(work.shape[0])
    index = np.empty((work.shape[0], k), dtype=np.int64)
    top = np.empty((work.shape[0], k), dtype=np.float64)
    for t in range(k):
        j = work.argmax(axis=1)
        index[:, t], top[:, t] = j, work[rows, j]
        work[rows, j] = -np.inf
    return index, top


class ReasonWriter:
    """Reasons and actions for a range of enterprises, as JSON text.

    The top three leaves each way are chosen with numpy. Most enterprises' reasons name no
    particular record: their text is fixed by a handful of small integers (leaf, value shown,
    points, count-based actions, hard rule), so it is made once per distinct combination
    (np.unique) and shared. Only enterprises with penalty or list records — whose reasons and
    actions name a department, a date and a repair day — are written one by one, from memoised
    fragments.
    """

    TOP = 3

    def __init__(self, scheme: CompiledScheme, features: Features, scores: Scores, as_of: date):
        self.scheme, self.features, self.scores, self.as_of = scheme, features, scores, as_of
        self.memo: dict[tuple[Any, ...], str] = {}
        self.action_memo: dict[tuple[Any, ...], tuple[int, int, str]] = {}
        leaves = scheme.leaves
        self.feature_leaf = {leaf.feature: j for j, leaf in enumerate(leaves)}
        self.hard_text = [
            json.dumps(r.text, ensure_ascii=False) if r.text else "" for r in scheme.hard_rules
        ]
        v = features.values
        names_records = np.zeros(len(features), dtype=bool)
        for name in DETAIL_FEATURES:
            names_records |= v[name] > 0
        self.names_records = names_records
        self.count_actions = [
            (code, feature, self.feature_leaf[feature])
            for feature, code in COUNT_ACTIONS
            if code in scheme.actions and feature in self.feature_leaf
        ]

    # -- fragments ------------------------------------------------------------------------------
    def _reason(self, j: int, shown: int, points: int, eid: int, positive: bool) -> str:
        leaf = self.scheme.leaves[j]
        detail: Detail | None = None
        if not positive and leaf.feature in DETAIL_FEATURES:
            detail = self.features.latest[leaf.feature].get(eid)
        key = (j, shown, points, positive, None if detail is None else detail.record_id)
        fragment = self.memo.get(key)
        if fragment is None:
            template = leaf.raise_text if positive else leaf.lower_text
            if not template:
                template = "{name}，加 {p} 分" if positive else "{name}，扣 {p} 分"
            if leaf.kind == "map":
                n_text = leaf.labels[shown] if 0 <= shown < len(leaf.labels) else "—"
            else:
                n_text = str(shown)
            if detail is None:
                detail_text = ""
            elif shown > 1:
                detail_text = f"（最近一次：{detail.text()}）"
            else:
                detail_text = f"（{detail.text()}）"
            text = template.format(n=n_text, p=points, detail=detail_text, name=leaf.name)
            fragment = _item(leaf.code, text, points if positive else -points)
            self.memo[key] = fragment
        return fragment

    def _action(
        self, code: str, points: int, key: Any = None, **fields: str
    ) -> tuple[int, int, str]:
        """(points, order, JSON item) of one action, memoised on (code, points, key)."""
        memo_key = (code, points, key)
        found = self.action_memo.get(memo_key)
        if found is None:
            text = self.scheme.actions[code].format(p=points, **fields)
            found = (points, ACTION_CODES.index(code), _item(code, text, points))
            self.action_memo[memo_key] = found
        return found

    def _count_action(self, encoded: int) -> tuple[int, int, str]:
        k, value, points = _decode(encoded)
        code, feature, _j = self.count_actions[k]
        shown = CATEGORIES["tax_grade"][value] if feature == "tax_grade" else str(value)
        return self._action(code, points, shown, n=shown)

    def _record_actions(self, i: int, eid: int) -> list[tuple[int, int, str]]:
        """Actions about particular records: repair a penalty or a list entry, leave a list."""
        templates, v = self.scheme.actions, self.features.values
        contrib = self.scores.contributions[i]
        found: list[tuple[int, int, str]] = []

        def lost(feature: str, per: float = 1.0) -> int:
            j = self.feature_leaf.get(feature)
            return 0 if j is None else _points(min(float(contrib[j]), 0.0) / per)

        def add(code: str, points: int, record: Detail, day: date | None = None) -> None:
            if code in templates and points > 0:
                day_text = day.isoformat() if day else ""
                found.append(
                    self._action(
                        code,
                        points,
                        (record.record_id, day_text),
                        detail=record.text(),
                        date=day_text,
                    )
                )

        repairable = self.features.repair["penalty"].get(eid)
        if repairable is not None:
            now = repairable.first_day <= self.as_of
            per = max(float(v[repairable.feature][i]), 1.0)
            add(
                "penalty_repair_now" if now else "penalty_repair",
                lost(repairable.feature, per),
                repairable.detail,
                repairable.first_day,
            )
        minor = self.features.latest["penalties_minor"].get(eid)
        if minor is not None:
            add("minor_penalty_repair", lost("penalties_minor"), minor)
        listed = self.features.repair["serious_dishonesty"].get(eid)
        if listed is not None:
            now = listed.first_day <= self.as_of
            add(
                "serious_dishonesty_repair_now" if now else "serious_dishonesty_repair",
                lost("serious_dishonesty"),
                listed.detail,
                listed.first_day,
            )
        for feature, code in (
            ("dishonest_debtor", "dishonest_debtor_exit"),
            ("abnormal_operation", "abnormal_operation_exit"),
        ):
            latest = self.features.latest[feature].get(eid)
            if latest is not None:
                add(code, lost(feature), latest)
        return found

    def _assemble(
        self, raised: list[str], lowered: list[str], actions: list[tuple[int, int, str]], hard: int
    ) -> str:
        actions.sort(key=lambda a: (-a[0], a[1]))
        text = (
            '{"raise": ['
            + ", ".join(raised)
            + '], "lower": ['
            + ", ".join(lowered)
            + '], "actions": ['
            + ", ".join(a[2] for a in actions)
            + "]"
        )
        if hard >= 0 and self.hard_text[hard]:
            text += ', "hard_rule": ' + self.hard_text[hard]
        return text + "}"

    # -- rows -----------------------------------------------------------------------------------
    def keys(self, start: int, stop: int) -> np.ndarray:
        """Per enterprise: 3 raise items, 3 lower items, the count-based actions, hard rule + 1."""
        block = self.scores.contributions[start:stop]
        shown = self.scores.shown[start:stop]
        top = min(self.TOP, block.shape[1])
        columns = []
        for sign in (1.0, -1.0):
            leaf, value = _top(block * sign, top)
            points = np.where(value > 0, np.floor(value + 0.5 + 1e-9), 0).astype(np.int64)
            columns.append(_encode(leaf, np.take_along_axis(shown, leaf, 1), points))
            if top < self.TOP:
                columns.append(np.zeros((block.shape[0], self.TOP - top), dtype=np.int64))
        v = self.features.values
        for k, (_code, feature, j) in enumerate(self.count_actions):
            n = v[feature][start:stop]
            lost = np.floor(np.abs(np.minimum(block[:, j], 0)) + 0.5 + 1e-9).astype(np.int64)
            present = np.isin(n, _LOW_TAX) if feature == "tax_grade" else n > 0
            columns.append(_encode(k, n, np.where(present, lost, 0))[:, None])
        columns.append(self.scores.hard_rule[start:stop, None].astype(np.int64) + 1)
        return np.concatenate(columns, axis=1)

    def _text(self, key: list[int], eid: int | None, i: int) -> str:
        raised = [self._reason(*_decode(c), eid or 0, True) for c in key[: self.TOP] if c]
        lowered = [
            self._reason(*_decode(c), eid or 0, False) for c in key[self.TOP : 2 * self.TOP] if c
        ]
        actions = [self._count_action(c) for c in key[2 * self.TOP : -1] if c]
        if eid is not None:
            actions += self._record_actions(i, eid)
        return self._assemble(raised, lowered, actions, key[-1] - 1)

    def rows(self, start: int, stop: int) -> tuple[list[str], np.ndarray]:
        """Reasons JSON for enterprises start..stop-1, and a 64-bit hash of each."""
        m = stop - start
        if m <= 0:
            return [], np.zeros(0, dtype=np.uint64)
        keys = self.keys(start, stop)
        special = self.names_records[start:stop]
        texts: list[str] = [""] * m
        hashes = np.zeros(m, dtype=np.uint64)
        normal = np.flatnonzero(~special)
        if normal.size:
            unique, inverse = unique_rows(keys[normal])
            made = [self._text(row, None, -1) for row in unique.tolist()]
            made_hash = np.array([_text_hash(t) for t in made], dtype=np.uint64)
            hashes[normal] = made_hash[inverse]
            for r, k in zip(normal.tolist(), inverse.tolist(), strict=True):
                texts[r] = made[k]
        ids = self.features.ids[start:stop]
        rows = np.flatnonzero(special)
        for r, key, eid in zip(rows.tolist(), keys[rows].tolist(), ids[rows].tolist(), strict=True):
            texts[r] = self._text(key, eid, start + r)
            hashes[r] = _text_hash(texts[r])
        return texts, hashes


def _text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a stable, well-spread 64-bit hash step (wraps around)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def combine(*columns: np.ndarray | np.integer[Any] | int) -> np.ndarray:
    """Row-wise 64-bit fingerprint of integer columns (the same on every machine and run)."""
    n = max(int(np.size(c)) for c in columns)
    h = np.full(n, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in columns:
        values = np.broadcast_to(np.asarray(column), (n,))
        if values.dtype != np.uint64:
            values = values.astype(np.int64).view(np.uint64)
        h = _mix(h ^ values)
    return h


def unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an integer matrix and, per row, the index of its distinct row.
    Rows are told apart by a 64-bit hash (one fast 1-D sort); should two different rows ever
    share a hash, the exact (slower) row-wise np.unique takes over."""
    if keys.shape[0] == 0:
        return keys, np.zeros(0, dtype=np.int64)
    _hashes, first, inverse = np.unique(combine(*keys.T), return_index=True, return_inverse=True)
    unique, inverse = keys[first], inverse.reshape(-1)
    if not np.array_equal(unique[inverse], keys):
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    return unique, inverse


def dimension_json(scheme: CompiledScheme, dims: np.ndarray) -> tuple[list[str], np.ndarray]:
    """{"law": 94, …} per row (a tenth kept when not whole), made once per distinct row; and a
    hash of each."""
    if dims.shape[0] == 0:
        return [], np.zeros(0, dtype=np.uint64)
    tenths = np.floor(dims * 10 + 0.5 + 1e-9).astype(np.int64)
    unique, inverse = unique_rows(tenths)
    keys = [json.dumps(code) + ": " for code in scheme.dimension_codes]

    def number(t: int) -> str:
        return str(t // 10) if t % 10 == 0 else f"{t / 10:.1f}"

    made = [
        "{" + ", ".join(k + number(t) for k, t in zip(keys, row, strict=True)) + "}"
        for row in unique.tolist()
    ]
    hashes = combine(*unique.T)[inverse]
    return [made[k] for k in inverse.tolist()], hashes


# ---------------------------------------------------------------------------------------------
# Regrading
# ---------------------------------------------------------------------------------------------
@dataclass
class RegradeStats:
    scheme_version: str = ""
    graded: int = 0
    written: int = 0
    unchanged: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    related_source: str = "none"
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def write_seconds(self) -> float:
        """Write-back: old grades made history, new ones inserted, the commit."""
        return sum(self.seconds.get(k, 0.0) for k in ("flip", "insert", "commit"))


_COPY_COLUMNS = (
    "enterprise_id",
    "scheme_version",
    "score",
    "grade",
    "dimension_scores",
    "reasons",
    "hard_rule",
    "digest",
    "computed_at",
    "is_current",
)
_BATCH = 50_000


def _copy_escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def regrade(
    enterprise_ids: Iterable[int] | None = None,
    *,
    scheme: ScoreScheme | None = None,
    as_of: date | None = None,
    related_risky: dict[int, int] | None = None,
    skip_unchanged: bool = False,
) -> int:
    """Grade the enterprises (None = all) with `scheme` (default: the active one) and store the
    grades; returns the number of grade rows written. See `run_regrade`."""
    return run_regrade(
        enterprise_ids,
        scheme=scheme,
        as_of=as_of,
        related_risky=related_risky,
        skip_unchanged=skip_unchanged,
    ).written


def run_regrade(
    enterprise_ids: Iterable[int] | None = None,
    *,
    scheme: ScoreScheme | None = None,
    as_of: date | None = None,
    related_risky: dict[int, int] | None = None,
    skip_unchanged: bool = False,
) -> RegradeStats:
    """Regrade and report counts and seconds per phase (features, compute, reasons, write).

    One transaction: the enterprises' current grades stop being current (one UPDATE) and the new
    ones are inserted (COPY on PostgreSQL, bulk_create elsewhere); on PostgreSQL an advisory lock
    keeps two regrades from interleaving. `skip_unchanged` writes a row only for enterprises
    whose result (scheme version, score, grade, dimensions, reasons) differs from their current
    grade — the nightly job uses it so that the history grows only by real changes.
    """
    scheme = scheme or active_scheme()
    compiled = compile_scheme(scheme.definition)
    if compiled.version != scheme.version:
        raise SchemeError(f"方案版本不一致：{scheme.version} ≠ {compiled.version}")
    as_of = as_of or timezone.localdate()
    ids = None if enterprise_ids is None else np.unique(np.fromiter(enterprise_ids, np.int64))
    stats = RegradeStats(scheme_version=compiled.version)
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.seconds[phase] = stats.seconds.get(phase, 0.0) + now - clock
        clock = now

    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if ids is not None and ids.size == 0:
            return stats
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('xinyidai-regrade'))")
                # one big grouped aggregate: keep it in memory, and skip JIT compilation (it
                # costs more than it saves here)
                cursor.execute("SELECT set_config('work_mem', %s, true)", [PG_WORK_MEM])
                cursor.execute("SET LOCAL jit = off")
                # the feature queries stream through server-side cursors: plan them for the
                # whole result, not for the first rows
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        features = extract_features(ids, as_of=as_of, related_risky=related_risky)
        stats.related_source = features.related_source
        stats.graded = len(features)
        lap("features")
        scores = compute(compiled, features)
        for k, name in enumerate(compiled.grades):
            stats.grades[name] = int((scores.grade == k).sum())
        lap("compute")
        if not len(features):
            return stats
        if skip_unchanged:
            current_ids, current_digests = _current_digests(None if ids is None else features.ids)
        else:
            # old current rows must stop being current before the new ones arrive (partial
            # unique index); one UPDATE, inside the same transaction as the inserts
            _flip_current(None if ids is None else features.ids)
            lap("flip")
        writer = ReasonWriter(compiled, features, scores, as_of)
        now = timezone.now()
        computed_at = now.isoformat()
        version = compiled.version
        version_hash = np.uint64(_text_hash(version))
        letters = np.array(compiled.grades, dtype=object)
        hard_codes = np.array(["", *(r.code for r in compiled.hard_rules)], dtype=object)
        table = EnterpriseGrade._meta.db_table
        for start in range(0, len(features), _BATCH):
            stop = min(start + _BATCH, len(features))
            reasons, reason_hashes = writer.rows(start, stop)
            dims, dim_hashes = dimension_json(compiled, scores.dimensions[start:stop])
            score = scores.score[start:stop]
            grade = scores.grade[start:stop]
            hard = scores.hard_rule[start:stop]
            fingerprints = combine(
                version_hash, score, grade, hard, reason_hashes, dim_hashes
            ).view(np.int64)
            block_ids = features.ids[start:stop]
            keep = np.arange(stop - start)
            if skip_unchanged:
                keep = _changed(block_ids, fingerprints, current_ids, current_digests)
                stats.unchanged += stop - start - keep.size
            lap("reasons")
            if keep.size == 0:
                continue
            if skip_unchanged:
                _flip_current(block_ids[keep])
                lap("flip")
            columns = zip(
                block_ids[keep].tolist(),
                score[keep].tolist(),
                letters[grade[keep]].tolist(),
                hard_codes[hard[keep] + 1].tolist(),
                fingerprints[keep].tolist(),
                keep.tolist(),
                strict=True,
            )
            if postgres:
                data = "".join(
                    f"{eid}\t{version}\t{sc}\t{gr}\t{_copy_escape(dims[r])}\t"
                    f"{_copy_escape(reasons[r])}\t{hr}\t{fp}\t{computed_at}\tt\n"
                    for eid, sc, gr, hr, fp, r in columns
                )
                with connection.cursor() as cursor:
                    copy_sql = f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
                    with cursor.cursor.copy(copy_sql) as copy:
                        copy.write(data)
            else:
                EnterpriseGrade.objects.bulk_create(
                    (
                        EnterpriseGrade(
                            enterprise_id=eid,
                            scheme_version=version,
                            score=sc,
                            grade=gr,
                            dimension_scores=json.loads(dims[r]),
                            reasons=json.loads(reasons[r]),
                            hard_rule=hr,
                            digest=fp,
                            computed_at=now,
                            is_current=True,
                        )
                        for eid, sc, gr, hr, fp, r in columns
                    ),
                    batch_size=2000,
                )
            stats.written += keep.size
            lap("insert")
        refresh_profiles(None if ids is None else features.ids.tolist())
    lap("commit")  # deferred foreign-key checks run here
    return stats


def _changed(
    ids: np.ndarray, fingerprints: np.ndarray, current_ids: np.ndarray, current: np.ndarray
) -> np.ndarray:
    """Positions in `ids` whose fingerprint differs from the current grade's (or have none)."""
    if current_ids.size == 0:
        return np.arange(ids.size)
    pos = np.minimum(np.searchsorted(current_ids, ids), current_ids.size - 1)
    same = (current_ids[pos] == ids) & (current[pos] == fingerprints)
    return np.flatnonzero(~same)


def _current_digests(ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(enterprise ids ascending, digests) of the current grades."""
    parts = []
    for chunk in _chunks(ids):
        qs = EnterpriseGrade.objects.filter(is_current=True)
        if chunk is not None:
            qs = qs.filter(enterprise_id__in=chunk)
        parts.append(_fetch_array(qs.order_by().values_list("enterprise_id", "digest"), 2))
    both = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    both = both[np.argsort(both[:, 0], kind="stable")]
    return both[:, 0].copy(), both[:, 1].copy()


def _flip_current(ids: np.ndarray | None) -> None:
    """The given enterprises' (None = every) current grades become history."""
    current = EnterpriseGrade.objects.filter(is_current=True)
    if ids is None:
        current.update(is_current=False)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {EnterpriseGrade._meta.db_table} SET is_current = false "  # noqa: S608
                "WHERE is_current AND enterprise_id = ANY(%s)",
                [ids.tolist()],
            )
    else:
        for chunk in _chunks(ids):
            current.filter(enterprise_id__in=chunk or []).update(is_current=False)


# ---------------------------------------------------------------------------------------------
# Incremental regrading
# ---------------------------------------------------------------------------------------------
FULL_REGRADE_ABOVE = 200_000  # more touched enterprises than this: regrade everyone at once


def records_changed(enterprise_ids: Iterable[int]) -> None:
    """The records of these enterprises changed (an import, a repair, an objection): regrade
    them once the current transaction commits (at once when there is none; nothing when it
    rolls back). Unchanged results write nothing, so a no-op import leaves no history."""
    ids = sorted({int(i) for i in enterprise_ids})
    if not ids:
        return
    from enterprises.tasks import regrade_enterprises

    payload = None if len(ids) > FULL_REGRADE_ABOVE else ids
    transaction.on_commit(
        lambda: regrade_enterprises.delay(enterprise_ids=payload, skip_unchanged=True)
    )
