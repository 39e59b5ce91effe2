from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enterprises import graph, synthetic
from enterprises.graph import GraphSnapshot, NotInGraph
from enterprises.models import Enterprise, Person, Shareholding
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

_person_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_snapshot() -> Iterator[None]:
    graph.invalidate()
    yield
    graph.invalidate()


def firm(name: str | None = None) -> Enterprise:
    return EnterpriseFactory.create(**({"name": name} if name else {}))


def person(name: str = "张三") -> Person:
    number = next(_person_numbers)
    return Person.objects.create(
        id_hash=f"{number:064x}", id_masked=f"441***********{number % 1000:03d}X", name=name
    )


def hold(holder: Enterprise | Person, target: Enterprise, percent: str | int) -> Shareholding:
    return Shareholding.objects.create(
        holder_enterprise=holder if isinstance(holder, Enterprise) else None,
        holder_person=holder if isinstance(holder, Person) else None,
        target=target,
        share_percent=Decimal(str(percent)),
    )


def shares(result: graph.Ownership) -> dict[tuple[str, int], Decimal]:
    return {(h.kind, h.id): h.effective_percent for h in result.holders}


# ---------------------------------------------------------------------------------------------
# Effective ownership
# ---------------------------------------------------------------------------------------------
def test_the_cross_holding_example_of_the_design() -> None:
    x, b = person("X"), person("B")
    a, c = firm(), firm()
    hold(x, a, 50)
    hold(b, c, 50)
    hold(a, c, 50)
    hold(c, a, 50)
    g = GraphSnapshot.build()

    of_c = g.ownership(c.id)
    assert shares(of_c) == {
        ("person", b.id): Decimal("66.6667"),
        ("person", x.id): Decimal("33.3333"),
    }
    assert [h.id for h in of_c.holders] == [b.id, x.id]  # largest first
    assert sum(h.effective for h in of_c.holders) == pytest.approx(1.0)
    assert [h.id for h in of_c.beneficial_owners] == [b.id, x.id]
    assert of_c.controller is None  # 50 % is not more than half
    assert of_c.unresolved == () and of_c.oversubscribed == ()
    assert of_c.method == "integrated"
    holder = of_c.holders[0]
    assert (holder.kind, holder.name, holder.identifier) == ("person", "B", b.id_masked)
    assert holder.key == f"p:{b.id}"

    of_a = g.ownership(a.id)
    assert shares(of_a) == {
        ("person", x.id): Decimal("66.6667"),
        ("person", b.id): Decimal("33.3333"),
    }


def test_a_chain_multiplies_and_a_firm_nobody_holds_is_an_ultimate_holder() -> None:
    a, b, c = firm("A"), firm("B"), firm("C")
    hold(a, b, 60)
    hold(b, c, 50)
    result = GraphSnapshot.build().ownership(c.id)
    assert shares(result) == {("enterprise", a.id): Decimal("30.0000")}
    assert result.holders[0].identifier == a.uscc
    assert result.beneficial_owners == ()  # a firm is never a beneficial owner
    assert result.controller is None  # A's group holds only 50 % of C


def test_paths_of_a_diamond_are_summed() -> None:
    p, q1, q2 = person("P"), person("Q1"), person("Q2")
    left, right, target = firm(), firm(), firm()
    hold(p, left, 60)
    hold(q1, left, 40)
    hold(p, right, 40)
    hold(q2, right, 60)
    hold(left, target, 50)
    hold(right, target, 50)
    result = GraphSnapshot.build().ownership(target.id)
    assert shares(result) == {
        ("person", p.id): Decimal("50.0000"),
        ("person", q2.id): Decimal("30.0000"),
        ("person", q1.id): Decimal("20.0000"),
    }


def test_beneficial_owner_threshold_is_25_percent_inclusive() -> None:
    p, q, r = person("P"), person("Q"), person("R")
    holding, target = firm(), firm()
    hold(p, holding, 50)
    hold(r, holding, 50)
    hold(holding, target, 50)
    hold(q, target, "24.9999")
    result = GraphSnapshot.build().ownership(target.id)
    assert shares(result)[("person", p.id)] == Decimal("25.0000")
    assert shares(result)[("person", q.id)] == Decimal("24.9999")
    assert {h.id for h in result.beneficial_owners} == {p.id, r.id}


def test_own_shares_count_for_the_other_holders() -> None:
    p, target = person(), firm()
    hold(target, target, 20)  # treasury shares (库存股)
    hold(p, target, 80)
    result = GraphSnapshot.build().ownership(target.id)
    assert shares(result) == {("person", p.id): Decimal("100.0000")}
    assert result.controller is not None and result.controller.id == p.id


def test_a_firm_held_by_nobody_has_no_holders() -> None:
    lonely = firm()
    result = GraphSnapshot.build().ownership(lonely.id)
    assert result.holders == () and result.controller is None


def test_shares_above_100_percent_are_scaled_down_and_reported() -> None:
    p, q = person(), person()
    target = firm()
    hold(p, target, 80)
    hold(q, target, 40)
    result = GraphSnapshot.build().ownership(target.id)
    assert shares(result) == {
        ("person", p.id): Decimal("66.6667"),
        ("person", q.id): Decimal("33.3333"),
    }
    assert result.oversubscribed == (target.id,)


def test_a_loop_that_owns_itself_terminates_without_holders() -> None:
    a, b, c = firm(), firm(), firm()
    hold(a, b, 100)
    hold(b, c, 100)
    hold(c, a, 100)
    g = GraphSnapshot.build()
    result = g.ownership(a.id)
    assert result.holders == ()
    assert result.controller is None
    assert set(result.unresolved) == {a.id, b.id, c.id}


def test_a_partial_loop_without_outside_holders_has_no_holders() -> None:
    a, b = firm(), firm()
    hold(a, b, 50)
    hold(b, a, 50)
    result = GraphSnapshot.build().ownership(a.id)
    assert result.holders == () and set(result.unresolved) == {a.id, b.id}


def test_a_closed_loop_upstream_only_takes_its_own_part() -> None:
    a, b, target = firm(), firm(), firm()
    p = person()
    hold(a, b, 100)
    hold(b, a, 100)
    hold(a, target, 40)
    hold(p, target, 60)
    result = GraphSnapshot.build().ownership(target.id)
    assert shares(result) == {("person", p.id): Decimal("60.0000")}
    assert set(result.unresolved) == {a.id, b.id}


# ---------------------------------------------------------------------------------------------
# Actual controller (实际控制人)
# ---------------------------------------------------------------------------------------------
def test_direct_majority_controls() -> None:
    p, q = person("P"), person("Q")
    target = firm()
    hold(p, target, 51)
    hold(q, target, 49)
    controller = GraphSnapshot.build().ownership(target.id).controller
    assert controller is not None
    assert (controller.kind, controller.id, controller.name) == ("person", p.id, "P")


def test_control_through_controlled_firms_adds_up() -> None:
    p, q, other = person("P"), person("Q"), person("O")
    f1, target = firm(), firm()
    hold(p, f1, 60)
    hold(other, f1, 40)
    hold(p, target, 30)
    hold(f1, target, 30)
    hold(q, target, 40)
    result = GraphSnapshot.build().ownership(target.id)
    assert result.controller is not None and result.controller.id == p.id
    # … whereas ownership counts P's 30 % + 60 % of F1's 30 %
    assert shares(result)[("person", p.id)] == Decimal("48.0000")


def test_control_runs_up_a_chain_to_the_top() -> None:
    p = person()
    f1, f2, target = firm(), firm(), firm()
    hold(p, f1, 60)
    hold(f1, f2, 60)
    hold(f2, target, 60)
    controller = GraphSnapshot.build().ownership(target.id).controller
    assert controller is not None and (controller.kind, controller.id) == ("person", p.id)


def test_a_top_firm_controls_when_nobody_holds_it() -> None:
    top, target = firm(), firm()
    hold(top, target, 70)
    controller = GraphSnapshot.build().ownership(target.id).controller
    assert controller is not None and (controller.kind, controller.id) == ("enterprise", top.id)


def test_fifty_fifty_has_no_controller() -> None:
    target = firm()
    hold(person(), target, 50)
    hold(person(), target, 50)
    assert GraphSnapshot.build().ownership(target.id).controller is None


def test_firms_controlling_each_other_have_no_actual_controller() -> None:
    a, c, below = firm(), firm(), firm()
    hold(a, c, 60)
    hold(c, a, 60)
    hold(person(), a, 40)
    hold(person(), c, 40)
    hold(a, below, 60)
    g = GraphSnapshot.build()
    assert g.ownership(a.id).controller is None
    assert g.ownership(c.id).controller is None
    assert g.ownership(below.id).controller is None  # its controlling shareholder is a loop


# ---------------------------------------------------------------------------------------------
# Neighbourhood
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def star() -> dict[str, Any]:
    """P1 60 % and F 40 % of T; P3 100 % of F; T 100 % of S1 and 30 % of S2; P2 70 % of S2."""
    p1, p2, p3 = person("甲"), person("乙"), person("丙")
    t, f, s1, s2 = firm("T"), firm("F"), firm("S1"), firm("S2")
    hold(p1, t, 60)
    hold(f, t, 40)
    hold(p3, f, 100)
    hold(t, s1, 100)
    hold(t, s2, 30)
    hold(p2, s2, 70)
    return {"p1": p1, "p2": p2, "p3": p3, "t": t, "f": f, "s1": s1, "s2": s2}


def keys(*items: Enterprise | Person) -> set[str]:
    return {f"{'e' if isinstance(i, Enterprise) else 'p'}:{i.id}" for i in items}


def test_neighbourhood_up_down_and_both(star: dict[str, Any]) -> None:
    g = GraphSnapshot.build()
    t = star["t"]
    up1 = g.neighbourhood(t.id, depth=1, direction="up")
    assert {n.key for n in up1.nodes} == keys(t, star["p1"], star["f"])
    assert up1.nodes[0].key == f"e:{t.id}" and up1.nodes[0].depth == 0
    assert not up1.capped
    edges = {(e.source, e.target): e for e in up1.edges}
    assert set(edges) == {(f"p:{star['p1'].id}", f"e:{t.id}"), (f"e:{star['f'].id}", f"e:{t.id}")}
    edge = edges[(f"p:{star['p1'].id}", f"e:{t.id}")]
    assert (edge.share, edge.percent, edge.kind) == (0.6, Decimal("60.0000"), "shareholding")
    assert str(edge.percent) == "60.0000"

    up2 = g.neighbourhood(t.id, depth=2, direction="up")
    assert {n.key for n in up2.nodes} == keys(t, star["p1"], star["f"], star["p3"])
    assert {n.key: n.depth for n in up2.nodes}[f"p:{star['p3'].id}"] == 2

    down = g.neighbourhood(t.id, depth=1, direction="down")
    assert {n.key for n in down.nodes} == keys(t, star["s1"], star["s2"])
    assert {(e.source, e.target) for e in down.edges} == {
        (f"e:{t.id}", f"e:{star['s1'].id}"),
        (f"e:{t.id}", f"e:{star['s2'].id}"),
    }

    both = g.neighbourhood(t.id, depth=2, direction="both")
    assert {n.key for n in both.nodes} == keys(*star.values())
    assert len(both.edges) == 6 and not both.capped
    person_node = next(n for n in both.nodes if n.key == f"p:{star['p2'].id}")
    assert (person_node.kind, person_node.name, person_node.identifier) == (
        "person",
        "乙",
        star["p2"].id_masked,
    )
    enterprise_node = next(n for n in both.nodes if n.key == f"e:{star['s1'].id}")
    assert (enterprise_node.name, enterprise_node.identifier) == ("S1", star["s1"].uscc)


def test_neighbourhood_cap(star: dict[str, Any]) -> None:
    g = GraphSnapshot.build()
    t = star["t"]
    assert not g.neighbourhood(t.id, depth=2, cap=7).capped
    capped = g.neighbourhood(t.id, depth=2, cap=5)
    assert capped.capped and len(capped.nodes) == 5
    assert capped.nodes[0].key == f"e:{t.id}"
    assert {n.depth for n in capped.nodes} == {0, 1}  # nearer nodes come first
    kept = {n.key for n in capped.nodes}
    assert all(e.source in kept and e.target in kept for e in capped.edges)
    assert len(capped.edges) == 4  # every edge between kept nodes is there


def test_neighbourhood_checks_its_arguments(star: dict[str, Any]) -> None:
    g = GraphSnapshot.build()
    t = star["t"]
    for depth in (0, 4, "2", True, 1.5):
        with pytest.raises(ValueError, match="depth must be an integer from 1 to 3"):
            g.neighbourhood(t.id, depth=depth)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction must be one of up, down, both"):
        g.neighbourhood(t.id, direction="sideways")
    with pytest.raises(ValueError, match="cap must be a positive integer"):
        g.neighbourhood(t.id, cap=0)
    with pytest.raises(NotInGraph):
        g.neighbourhood(t.id + 10_000)
    with pytest.raises(NotInGraph):
        g.ownership(t.id + 10_000)


# ---------------------------------------------------------------------------------------------
# Families and related risk
# ---------------------------------------------------------------------------------------------
def test_families(star: dict[str, Any]) -> None:
    other_a, other_b, lonely = firm(), firm(), firm()
    shared = person()
    hold(shared, other_a, 100)
    hold(shared, other_b, 100)
    g = GraphSnapshot.build()
    labels = g.families()
    assert labels.shape == (g.n_enterprises + g.n_persons,)
    assert g.family(star["t"].id) == graph.FamilySummary(
        label=g.family(star["s2"].id).label, enterprises=4, persons=3
    )
    assert g.family(other_a.id).label == g.family(other_b.id).label != g.family(star["t"].id).label
    assert (g.family(other_a.id).enterprises, g.family(other_a.id).persons) == (2, 1)
    assert (g.family(lonely.id).enterprises, g.family(lonely.id).persons) == (1, 0)
    assert g.families() is labels  # computed once per snapshot


def test_related_risk_within_two_hops_in_either_direction() -> None:
    # X ← P → Y → Z → W; R → X (R holds X); V isolated
    p = person()
    x, y, z, w, r, v = (firm(n) for n in "XYZWRV")
    hold(p, x, 50)
    hold(p, y, 50)
    hold(y, z, 50)
    hold(z, w, 50)
    hold(r, x, 50)
    g = GraphSnapshot.build()

    related = g.related_risk({x.id})
    assert related == {y.id: [x.id], r.id: [x.id]}  # Y via P (2 hops), R holds X (1 hop)

    related = g.related_risk({x.id, z.id, v.id, 10**9})  # unknown ids are ignored
    assert related == {y.id: [x.id, z.id], r.id: [x.id], w.id: [z.id]}
    assert g.related_risk({x.id, z.id}, hops=1) == {r.id: [x.id], y.id: [z.id], w.id: [z.id]}
    assert g.related_risk({x.id, y.id}) == {
        x.id: [y.id],
        y.id: [x.id],
        r.id: [x.id],  # Y is three hops from R
        z.id: [y.id],
        w.id: [y.id],
    }
    assert g.related_risk(set()) == {}

    risky = {x.id, z.id}
    expected = g.related_risk(risky)
    for enterprise in (x, y, z, w, r, v):
        assert g.related_risk_for(enterprise.id, risky) == expected.get(enterprise.id, [])
    with pytest.raises(ValueError, match="hops"):
        g.related_risk(risky, hops=0)


# ---------------------------------------------------------------------------------------------
# Snapshot and data version
# ---------------------------------------------------------------------------------------------
def test_snapshot_is_cached_and_rebuilt_after_a_version_bump(settings: Any) -> None:
    settings.GRAPH_VERSION_CHECK_SECONDS = 0
    p, target = person(), firm()
    hold(p, target, 60)
    first = graph.snapshot()
    assert graph.snapshot() is first
    assert shares(graph.ownership(target.id)) == {("person", p.id): Decimal("60.0000")}

    q = person()
    hold(q, target, 40)
    assert graph.snapshot() is first  # nobody said the data changed
    graph.bump_graph_version()
    second = graph.snapshot()
    assert second is not first and second.version != first.version
    assert shares(graph.ownership(target.id))[("person", q.id)] == Decimal("40.0000")
    assert graph.family(target.id).persons == 2
    assert graph.neighbourhood(target.id).nodes[0].id == target.id
    assert graph.related_risk_for(target.id, {target.id}) == []
    assert graph.related_risk({target.id}) == {}
    assert graph.families() is second.families()


def test_the_version_is_looked_at_only_every_few_seconds(settings: Any) -> None:
    settings.GRAPH_VERSION_CHECK_SECONDS = 3600
    target = firm()
    first = graph.snapshot()
    hold(person(), target, 100)
    graph.bump_graph_version()
    assert graph.snapshot() is first
    graph.invalidate()
    assert graph.snapshot() is not first


def test_bumping_without_a_counter_starts_one() -> None:
    from django.core.cache import cache

    cache.delete(graph.VERSION_KEY)
    graph.bump_graph_version()
    before = graph.graph_version()
    graph.bump_graph_version()
    assert graph.graph_version() == before + 1


def test_names_with_separators_keep_nodes_aligned() -> None:
    odd, plain = firm("东莞\t甲\x1f乙有限公司"), firm("东莞丙有限公司")
    p = person("李\x1f四")
    hold(p, odd, 100)
    g = GraphSnapshot.build()
    names = {n.id: n.name for n in g.neighbourhood(odd.id).nodes}
    assert names == {odd.id: "东莞\t甲 乙有限公司", p.id: "李 四"}
    assert g.neighbourhood(plain.id).nodes[0].name == "东莞丙有限公司"
    assert g.nbytes > 0 and g.n_edges == 1


def test_nodes_read_in_any_order_are_sorted_by_id() -> None:
    nodes = graph._assemble([(np.array([7, 3], dtype=np.int64), b"E7\tseven\x1fE3\tthree\x1f")])
    assert nodes.ids.tolist() == [3, 7]
    assert [bytes(nodes.text[s:e]) for s, e in zip(nodes.starts, nodes.ends, strict=True)] == [
        b"E3\tthree",
        b"E7\tseven",
    ]
    with pytest.raises(RuntimeError):
        graph._assemble([(np.array([1, 2], dtype=np.int64), b"one\tx\x1f")])


def test_the_synthetic_city_is_read_whole_and_fully_owned() -> None:
    synthetic.seed_city(400, 7)
    g = GraphSnapshot.build()
    assert (g.n_enterprises, g.n_persons) == (Enterprise.objects.count(), Person.objects.count())
    assert g.n_edges == Shareholding.objects.count()
    assert g.enterprise_ids.tolist() == list(
        Enterprise.objects.order_by("id").values_list("id", flat=True)
    )
    sample = Enterprise.objects.order_by("?").first()
    assert sample is not None
    node = g.neighbourhood(sample.id).nodes[0]
    assert (node.name, node.identifier) == (sample.name, sample.uscc)
    for enterprise_id in g.enterprise_ids.tolist():
        result = g.ownership(enterprise_id)
        # every synthetic firm's shares add up to 100 % and every loop has outside holders
        assert sum(h.effective for h in result.holders) == pytest.approx(1.0, abs=1e-9)
        assert result.unresolved == ()
    risky = set(g.enterprise_ids[::37].tolist())
    related = g.related_risk(risky)
    assert related
    for enterprise_id in g.enterprise_ids.tolist():
        assert g.related_risk_for(enterprise_id, risky) == related.get(enterprise_id, [])


# ---------------------------------------------------------------------------------------------
# Properties on random graphs
# ---------------------------------------------------------------------------------------------
Stake = tuple[str, int, int]  # (holder kind "p"/"e", holder index, units of 0.0001 %)


@st.composite
def cities(draw: Any, *, acyclic: bool = False, complete: bool = False) -> dict[str, Any]:
    """Firms 0..n-1 with their holders; each firm's incoming shares sum to at most 100 % (to
    exactly 100 % and with at least one natural person among them when `complete`)."""
    n_firms = draw(st.integers(1, 6))
    n_persons = draw(st.integers(1, 3))
    stakes: dict[int, list[Stake]] = {}
    for f in range(n_firms):
        firms = [("e", g) for g in range(n_firms) if (g < f if acyclic else g != f)]
        holders: list[tuple[str, int]] = draw(
            st.lists(
                st.sampled_from([("p", i) for i in range(n_persons)] + firms),
                max_size=4,
                unique=True,
            )
        )
        if complete and not any(kind == "p" for kind, _i in holders):
            holders.append(("p", draw(st.integers(0, n_persons - 1))))
        if not holders:
            stakes[f] = []
            continue
        total = graph.UNIT if complete else draw(st.integers(len(holders), graph.UNIT))
        cuts: list[int] = []
        if len(holders) > 1:
            size = len(holders) - 1
            cuts = sorted(
                draw(st.lists(st.integers(1, total - 1), min_size=size, max_size=size, unique=True))
            )
        units = [b - a for a, b in itertools.pairwise([0, *cuts, total])]
        stakes[f] = [(kind, i, u) for (kind, i), u in zip(holders, units, strict=True)]
    return {"firms": n_firms, "persons": n_persons, "stakes": stakes}


def _write(city: dict[str, Any]) -> tuple[list[Enterprise], list[Person]]:
    firms = [firm() for _f in range(city["firms"])]
    persons = [person() for _p in range(city["persons"])]
    for f, stakes in city["stakes"].items():
        for kind, i, units in stakes:
            holder = persons[i] if kind == "p" else firms[i]
            hold(holder, firms[f], str(Decimal(units).scaleb(-4)))
    return firms, persons


def _in_rollback(check: Any) -> None:
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(city=cities())
def test_effective_shares_never_exceed_100_percent(city: dict[str, Any]) -> None:
    def check() -> None:
        firms, _persons = _write(city)
        g = GraphSnapshot.build()
        for f in firms:
            result = g.ownership(f.id)
            assert sum(h.effective for h in result.holders) <= 1 + 1e-9
            assert all(h.effective > 0 for h in result.holders)
            for h in result.beneficial_owners:
                assert h.kind == "person" and h.effective_percent >= 25

    _in_rollback(check)


@PROPERTY_SETTINGS
@given(city=cities(complete=True))
def test_effective_shares_add_up_to_100_percent_when_all_is_accounted_for(
    city: dict[str, Any],
) -> None:
    def check() -> None:
        firms, _persons = _write(city)
        g = GraphSnapshot.build()
        for f in firms:
            result = g.ownership(f.id)
            assert result.unresolved == ()
            assert all(h.kind == "person" for h in result.holders)
            assert sum(h.effective for h in result.holders) == pytest.approx(1.0, abs=1e-9)

    _in_rollback(check)


def _paths(stakes: dict[int, list[Stake]], f: int) -> dict[tuple[str, int], float]:
    """Effective ownership in an acyclic city by recursion over paths (the definition)."""
    result: dict[tuple[str, int], float] = {}
    for kind, i, units in stakes[f]:
        share = units / graph.UNIT
        if kind == "e" and stakes[i]:
            for holder, value in _paths(stakes, i).items():
                result[holder] = result.get(holder, 0.0) + share * value
        else:
            result[(kind, i)] = result.get((kind, i), 0.0) + share
    return result


def _controllers(stakes: dict[int, list[Stake]], n_firms: int, f: int) -> set[tuple[str, int]]:
    """Everyone who controls firm f, by the definition: X controls Y when X together with the
    firms X controls holds more than 50 % of Y (each X's fixpoint computed on its own)."""
    candidates = {(kind, i) for s in stakes.values() for kind, i, _u in s}
    found = set()
    for x in candidates:
        controlled: set[int] = set()
        grew = True
        while grew:
            grew = False
            for y in range(n_firms):
                if y in controlled or ("e", y) == x:
                    continue
                units = sum(
                    u
                    for kind, i, u in stakes[y]
                    if (kind, i) == x or (kind == "e" and i in controlled)
                )
                if units > graph.CONTROL_UNITS:
                    controlled.add(y)
                    grew = True
        if f in controlled:
            found.add(x)
    return found


def _top_controller(stakes: dict[int, list[Stake]], n_firms: int, f: int) -> tuple[str, int] | None:
    """The controller of f that nobody else controlling f — nor f itself — controls: a natural
    person or a firm at the top of the chain; None when there is none (firms that control each
    other in a loop have no actual controller)."""
    controllers = _controllers(stakes, n_firms, f)
    tops = [
        c
        for c in controllers
        if c[0] == "p" or not (_controllers(stakes, n_firms, c[1]) & (controllers | {("e", f)}))
    ]
    assert len(tops) <= 1
    return tops[0] if tops else None


@PROPERTY_SETTINGS
@given(city=cities())
def test_control_matches_its_definition_with_loops(city: dict[str, Any]) -> None:
    def check() -> None:
        firms, persons = _write(city)
        g = GraphSnapshot.build()
        key = {("e", i): ("enterprise", f.id) for i, f in enumerate(firms)}
        key |= {("p", i): ("person", p.id) for i, p in enumerate(persons)}
        for index, f in enumerate(firms):
            controller = g.ownership(f.id).controller
            expected = _top_controller(city["stakes"], city["firms"], index)
            assert (None if controller is None else (controller.kind, controller.id)) == (
                None if expected is None else key[expected]
            )

    _in_rollback(check)


@PROPERTY_SETTINGS
@given(city=cities(acyclic=True))
def test_acyclic_ownership_and_control_match_their_definitions(city: dict[str, Any]) -> None:
    def check() -> None:
        firms, persons = _write(city)
        g = GraphSnapshot.build()
        key = {("e", i): ("enterprise", f.id) for i, f in enumerate(firms)}
        key |= {("p", i): ("person", p.id) for i, p in enumerate(persons)}
        for index, f in enumerate(firms):
            result = g.ownership(f.id)
            got = {(h.kind, h.id): h.effective for h in result.holders}
            want = {key[h]: v for h, v in _paths(city["stakes"], index).items()}
            assert got.keys() == want.keys()
            for holder, value in want.items():
                assert got[holder] == pytest.approx(value, abs=1e-9)
            controller = result.controller
            expected = _top_controller(city["stakes"], city["firms"], index)
            assert (None if controller is None else (controller.kind, controller.id)) == (
                None if expected is None else key[expected]
            )

    _in_rollback(check)


@settings(
    max_examples=60,
    deadline=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(city=cities(), data=st.data())
def test_random_loops_never_hang_and_walks_stay_in_bounds(
    city: dict[str, Any], data: st.DataObject
) -> None:
    def check() -> None:
        firms, _persons = _write(city)
        g = GraphSnapshot.build()
        for f in firms:
            g.ownership(f.id)
            depth = data.draw(st.integers(1, 3))
            direction = data.draw(st.sampled_from(graph.DIRECTIONS))
            cap = data.draw(st.integers(1, 12))
            result = g.neighbourhood(f.id, depth=depth, direction=direction, cap=cap)
            assert 1 <= len(result.nodes) <= cap
            assert all(0 <= n.depth <= depth for n in result.nodes)
            assert len({n.key for n in result.nodes}) == len(result.nodes)

    _in_rollback(check)
