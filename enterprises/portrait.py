"""The credit portrait (信用全景画像): grade and reasons, records, risk tags, graph and ownership.

Every function takes the reading user and passes `access.require` first, at the scope its data
needs: only the enterprise's own members, or a read decided and logged earlier in the request
(`access.read`), get through.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from enterprises import access, graph
from enterprises.models import (
    CreditRecord,
    Enterprise,
    EnterpriseGrade,
    RecordStatus,
    RecordType,
    ScoreScheme,
)

SERIOUS_TYPES = (RecordType.SERIOUS_DISHONESTY, RecordType.DISHONEST_DEBTOR)
RISKY_TTL_SECONDS = 300
_risky_cache: dict[str, Any] = {"at": 0.0, "ids": frozenset()}
_dimension_names: dict[str, dict[str, str]] = {}


def _require(user: Any, enterprise: Enterprise, scope: str = "portrait") -> None:
    access.require(user, enterprise, scope)


def risky_enterprises() -> frozenset[int]:
    """Enterprises with an active serious record — the sources of related-party risk. Cached
    per process for a few minutes: the set changes with imports, not with every request."""
    now = time.monotonic()
    if now - _risky_cache["at"] > RISKY_TTL_SECONDS:
        from enterprises.scoring import risky_enterprise_ids

        _risky_cache["ids"] = frozenset(risky_enterprise_ids())
        _risky_cache["at"] = now
    ids: frozenset[int] = _risky_cache["ids"]
    return ids


def forget_risky() -> None:
    _risky_cache["at"] = 0.0


def dimension_names(version: str) -> dict[str, str]:
    """Dimension code → Chinese name for a scheme version (a grade keeps only the codes)."""
    if version not in _dimension_names:
        scheme = ScoreScheme.objects.filter(version=version).first()
        dims = scheme.definition.get("dimensions", []) if scheme else []
        _dimension_names[version] = {d["code"]: d.get("name", d["code"]) for d in dims}
    return _dimension_names[version]


def current_grade(enterprise: Enterprise) -> EnterpriseGrade | None:
    return EnterpriseGrade.objects.filter(enterprise=enterprise, is_current=True).first()


def record_summary(enterprise: Enterprise) -> dict[str, int]:
    """Active (published) records by type."""
    rows = (
        CreditRecord.objects.filter(enterprise=enterprise, status=RecordStatus.ACTIVE)
        .order_by()
        .values("record_type")
        .annotate(n=Count("id"))
    )
    return {r["record_type"]: r["n"] for r in rows}


def risk_tags(enterprise: Enterprise, summary: dict[str, int]) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = []
    for record_type in SERIOUS_TYPES:
        if summary.get(record_type):
            tags.append(
                {
                    "code": f"active_{record_type}",
                    "level": "high",
                    "text": _("存在有效的%(kind)s记录") % {"kind": RecordType(record_type).label},
                }
            )
    try:
        related = graph.related_risk_for(enterprise.pk, risky_enterprises())
    except graph.NotInGraph:
        related = []
    if related:
        names = dict(Enterprise.objects.filter(pk__in=related[:20]).values_list("pk", "name"))
        tags.append(
            {
                "code": "related_serious",
                "level": "medium",
                "text": _("两层关联企业中有 %(n)d 家存在严重失信或失信被执行记录")
                % {"n": len(related)},
                "enterprises": [names[pk] for pk in related[:20] if pk in names],
            }
        )
    return tags


def _grade_fields(enterprise: Enterprise, grade: EnterpriseGrade | None) -> dict[str, Any]:
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "grade": grade.grade if grade else None,
        "score": grade.score if grade else None,
        "scheme_version": grade.scheme_version if grade else None,
        "computed_at": grade.computed_at if grade else None,
        "hard_rule": grade.hard_rule if grade else "",
    }


def summary(*, user: Any, enterprise: Enterprise) -> dict[str, Any]:
    """The `summary` scope: grade, score and the reasons behind them."""
    _require(user, enterprise, "summary")
    grade = current_grade(enterprise)
    return {**_grade_fields(enterprise, grade), "reasons": grade.reasons if grade else {}}


def portrait(*, user: Any, enterprise: Enterprise) -> dict[str, Any]:
    _require(user, enterprise)
    grade = current_grade(enterprise)
    names = dimension_names(grade.scheme_version) if grade else {}
    summary = record_summary(enterprise)
    return {
        **_grade_fields(enterprise, grade),
        "dimension_scores": grade.dimension_scores if grade else {},
        "dimensions": [
            {"code": code, "name": names.get(code, code), "score": score}
            for code, score in (grade.dimension_scores if grade else {}).items()
        ],
        "reasons": grade.reasons if grade else {},
        "risk_tags": risk_tags(enterprise, summary),
        "record_summary": summary,
    }


def records(
    *, user: Any, enterprise: Enterprise, record_type: str = "", year: int | None = None
) -> QuerySet[CreditRecord]:
    """The published-records timeline, newest first, with the page's filters."""
    _require(user, enterprise, "records")
    qs = CreditRecord.objects.filter(enterprise=enterprise, status=RecordStatus.ACTIVE)
    if record_type:
        qs = qs.filter(record_type=record_type)
    if year:
        qs = qs.filter(decision_date__year=year)
    return qs.order_by("-decision_date", "-id")


def party_json(party: graph.Party) -> dict[str, Any]:
    key = "uscc" if party.kind == "enterprise" else "person_id"
    return {"kind": party.kind, key: party.identifier, "name": party.name}


def graph_json(
    *, user: Any, enterprise: Enterprise, depth: int = 1, direction: str = "both"
) -> dict[str, Any]:
    _require(user, enterprise)
    try:
        hood = graph.neighbourhood(enterprise.pk, depth=depth, direction=direction)
    except graph.NotInGraph:
        hood = None
    if hood is None:
        return {"nodes": [party_json_node(enterprise)], "edges": [], "capped": False}
    risky = risky_enterprises()
    return {
        "nodes": [
            {
                "id": node.key,
                **party_json(node),
                "depth": node.depth,
                "risk": node.kind == "enterprise" and node.id in risky,
            }
            for node in hood.nodes
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "share": None if e.percent is None else str(e.percent),
                "kind": e.kind,
                **({"role": e.role} if e.role else {}),
            }
            for e in hood.edges
        ],
        "capped": hood.capped,
    }


def party_json_node(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": f"e:{enterprise.pk}",
        "kind": "enterprise",
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "depth": 0,
        "risk": enterprise.pk in risky_enterprises(),
    }


def ownership_json(*, user: Any, enterprise: Enterprise) -> dict[str, Any]:
    _require(user, enterprise)
    try:
        result = graph.ownership(enterprise.pk)
    except graph.NotInGraph:
        return {"holders": [], "beneficial_owners": [], "controller": None, "method": "integrated"}

    def holder(h: graph.Holder) -> dict[str, Any]:
        return {**party_json(h), "effective_percent": str(h.effective_percent)}

    return {
        "holders": [holder(h) for h in result.holders],
        "beneficial_owners": [holder(h) for h in result.beneficial_owners],
        "controller": party_json(result.controller) if result.controller else None,
        "method": "integrated",
    }


def family_json(*, user: Any, enterprise: Enterprise) -> dict[str, Any] | None:
    _require(user, enterprise)
    try:
        family = graph.family(enterprise.pk)
    except graph.NotInGraph:
        return None
    return {"enterprises": family.enterprises, "persons": family.persons}
