from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from enterprises import graph, portrait, resident_id
from enterprises.models import CreditRecord, Enterprise, Person, Shareholding
from enterprises.persons import person_id_hash, person_mask
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db
REASON = "异议核查"  # the credit office states why it reads


@pytest.fixture(autouse=True)
def _fresh_graph() -> Iterator[None]:
    graph.invalidate()
    portrait.forget_risky()
    yield
    graph.invalidate()
    portrait.forget_risky()


def person(name: str, seed: int) -> Person:
    number = resident_id.generate(random.Random(seed))
    return Person.objects.create(
        id_hash=person_id_hash(number), id_masked=person_mask(number), name=name
    )


def hold(holder: Enterprise | Person, target: Enterprise, percent: str) -> None:
    kind = "holder_enterprise" if isinstance(holder, Enterprise) else "holder_person"
    Shareholding.objects.create(**{kind: holder}, target=target, share_percent=Decimal(percent))


def record(enterprise: Enterprise, sid: str, record_type: str, **extra: Any) -> CreditRecord:
    extra.setdefault("decision_date", date(2026, 6, 1))
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type=record_type,
        source_department="东莞市中级人民法院",
        source_record_id=sid,
        content_hash=sid,
        **extra,
    )


@pytest.fixture
def cross_holding(enterprise: Enterprise) -> dict[str, Any]:
    """DESIGN.md's worked example: X holds 50 % of A, B holds 50 % of C (the enterprise),
    A and C hold 50 % of each other → X owns 33.3333 % of C, B 66.6667 %."""
    x = person("许某", 1)
    b = person("白某", 2)
    a = EnterpriseFactory.create(name="东莞市甲有限公司")
    hold(x, a, "50")
    hold(b, enterprise, "50")
    hold(a, enterprise, "50")
    hold(enterprise, a, "50")
    return {"x": x, "b": b, "a": a}


def test_ownership_api_reproduces_the_worked_example(
    enterprise: Enterprise, cross_holding: dict[str, Any], enterprise_owner: Any, login: Any
) -> None:
    body = login(enterprise_owner).get(f"/api/v1/enterprises/{enterprise.uscc}/ownership/").json()
    assert body["method"] == "integrated"
    holders = {(h["kind"], h["name"]): h["effective_percent"] for h in body["holders"]}
    assert holders == {("person", "白某"): "66.6667", ("person", "许某"): "33.3333"}
    assert {h["name"] for h in body["beneficial_owners"]} == {"白某", "许某"}
    # control needs > 50 %: B's direct 50 % is not enough and X does not control A
    assert body["controller"] is None
    for h in body["holders"]:
        assert h["person_id"].count("*") == 11  # masked, never the number


def test_graph_api_depth_direction_and_risk(
    enterprise: Enterprise, cross_holding: dict[str, Any], credit_office: Any, login: Any
) -> None:
    record(cross_holding["a"], "d1", "dishonest_debtor")
    client = login(credit_office)
    body = client.get(
        f"/api/v1/enterprises/{enterprise.uscc}/graph/?depth=1&direction=up&reason={REASON}"
    ).json()
    names = {n["name"]: n for n in body["nodes"]}
    assert set(names) == {enterprise.name, "东莞市甲有限公司", "白某"}
    assert names["东莞市甲有限公司"]["risk"] is True
    assert names[enterprise.name]["depth"] == 0
    assert body["capped"] is False
    shares = {(e["source"], e["target"]): e["share"] for e in body["edges"]}
    assert shares[(names["白某"]["id"], names[enterprise.name]["id"])] == "50.0000"
    deeper = client.get(
        f"/api/v1/enterprises/{enterprise.uscc}/graph/?depth=2&direction=up&reason={REASON}"
    ).json()
    assert "许某" in {n["name"] for n in deeper["nodes"]}
    bad = client.get(f"/api/v1/enterprises/{enterprise.uscc}/graph/?depth=4&reason={REASON}")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_depth")


def test_portrait_api_grade_reasons_and_related_risk(
    enterprise: Enterprise, cross_holding: dict[str, Any], enterprise_owner: Any, login: Any
) -> None:
    from enterprises.scoring import regrade

    record(cross_holding["a"], "s1", "serious_dishonesty")
    record(enterprise, "p1", "penalty", penalty_class="general", amount=Decimal("5000"))
    regrade([enterprise.pk, cross_holding["a"].pk])
    body = login(enterprise_owner).get(f"/api/v1/enterprises/{enterprise.uscc}/portrait/").json()
    assert body["grade"] in {"A", "B", "C", "D"}
    assert 0 <= body["score"] <= 1000
    assert body["scheme_version"]
    names = {d["name"]: d["score"] for d in body["dimensions"]}
    assert set(names) >= {"遵纪守法", "关联风险"}
    assert names["关联风险"] < 100  # a related firm is on the serious-dishonesty list
    assert body["record_summary"] == {"penalty": 1}
    assert any("处罚" in item["text"] for item in body["reasons"]["lower"])
    related = [t for t in body["risk_tags"] if t["code"] == "related_serious"]
    assert related and related[0]["enterprises"] == ["东莞市甲有限公司"]
    # the risky firm itself is forced to D by the hard rule
    other = portrait.current_grade(cross_holding["a"])
    assert other is not None and other.grade == "D"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("enterprise_owner", 200),
        ("enterprise_member", 200),
        ("credit_office", 200),
        ("bank_officer", 403),  # no authorisation from the enterprise
        ("bank_admin", 403),
        ("trading_centre", 404),
        ("plain_user", 404),
    ],
)
@pytest.mark.parametrize("endpoint", ["portrait", "graph", "ownership"])
def test_only_the_enterprise_and_the_credit_office_read_it(
    role: str, status: int, endpoint: str, enterprise: Enterprise, request: Any, login: Any
) -> None:
    client = login(request.getfixturevalue(role))
    response = client.get(f"/api/v1/enterprises/{enterprise.uscc}/{endpoint}/?reason={REASON}")
    assert response.status_code == status
    page = client.get(f"/enterprises/registry/{enterprise.uscc}/portrait/?reason={REASON}")
    assert page.status_code == status
    assert Client().get(f"/api/v1/enterprises/{enterprise.uscc}/{endpoint}/").status_code == 403


def test_portrait_page_shows_grade_graph_ownership_and_timeline(
    enterprise: Enterprise, cross_holding: dict[str, Any], enterprise_owner: Any, login: Any
) -> None:
    from enterprises.scoring import regrade

    record(enterprise, "p1", "penalty", penalty_class="general", content="未按规定公示年报")
    record(enterprise, "t1", "tax_grade", value="A", decision_date=date(2025, 4, 1))
    regrade([enterprise.pk])
    client = login(enterprise_owner)
    html = client.get(f"/enterprises/registry/{enterprise.uscc}/portrait/").content.decode()
    grade = portrait.current_grade(enterprise)
    assert grade is not None
    assert f"xyd-grade-{grade.grade}" in html
    assert "未按规定公示年报" in html
    assert "66.6667%" in html and "33.3333%" in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="portrait-graph-data"' in html
    filtered = client.get(
        f"/enterprises/registry/{enterprise.uscc}/portrait/?record_type=tax_grade"
    ).content.decode()
    assert "未按规定公示年报" not in filtered


def test_key_personnel_show_in_the_graph_but_never_as_owners(
    enterprise: Enterprise, credit_office: Any, login: Any
) -> None:
    from enterprises.models import KeyPersonnel, PersonnelRole

    boss = person("罗总", 7)
    hold(boss, enterprise, "100")
    director = person("董某", 8)
    KeyPersonnel.objects.create(enterprise=enterprise, person=director, role=PersonnelRole.DIRECTOR)
    KeyPersonnel.objects.create(
        enterprise=enterprise, person=boss, role=PersonnelRole.LEGAL_REPRESENTATIVE
    )
    KeyPersonnel.objects.create(enterprise=enterprise, person=boss, role=PersonnelRole.MANAGER)
    client = login(credit_office)
    body = client.get(
        f"/api/v1/enterprises/{enterprise.uscc}/graph/?direction=up&reason={REASON}"
    ).json()
    links = {(e["kind"], e.get("role"), e["share"]) for e in body["edges"]}
    assert links == {
        ("shareholding", None, "100.0000"),
        ("personnel", "director", None),
        # one role per person and firm: the legal representative outranks the manager
        ("personnel", "legal_representative", None),
    }
    down = client.get(
        f"/api/v1/enterprises/{enterprise.uscc}/graph/?direction=down&reason={REASON}"
    ).json()
    assert [e for e in down["edges"] if e["kind"] == "personnel"] == []
    owners = client.get(f"/api/v1/enterprises/{enterprise.uscc}/ownership/?reason={REASON}").json()
    assert [(h["name"], h["effective_percent"]) for h in owners["holders"]] == [
        ("罗总", "100.0000")
    ]


def test_portrait_api_query_budget(
    enterprise: Enterprise, cross_holding: dict[str, Any], credit_office: Any, login: Any
) -> None:
    """Roles come with the token and the enterprise is read without its encrypted columns: a
    warm portrait costs a handful of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from enterprises.scoring import regrade

    regrade([enterprise.pk])
    login(credit_office)  # gives the office user its TOTP device
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=credit_office).key}")
    url = f"/api/v1/enterprises/{enterprise.uscc}/portrait/?reason={REASON}"
    assert client.get(url).status_code == 200  # warms the per-process caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert not any("legal_rep_id" in q for q in sql), sql  # nothing encrypted is decrypted
    # token + roles, TOTP check, enterprise, grade, record summary
    assert len([q for q in sql if q.startswith("SELECT")]) <= 5, sql
