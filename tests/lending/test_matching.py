"""Matching (融资对接): the SQL filter on profiles gives the eligibility rules' answers, profiles
are refreshed set-based from their sources, only opted-in enterprises are recommended, the top
K is exact, every result carries its reasons; and products ranked for an enterprise."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from banks.models import Bank, LoanProduct, LoanProductVersion
from enterprises.authorization import authorization_grant, authorization_revoke
from enterprises.models import (
    Authorization,
    CreditRecord,
    Enterprise,
    EnterpriseGrade,
)
from lending import eligibility, matching, services
from lending.models import LoanApplication, MatchProfile
from tests.factories import PASSWORD, BankFactory, EnterpriseFactory, UserFactory
from tests.lending.conftest import TERMS, publish, submit_demand
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)
NOW = timezone.make_aware(datetime(2026, 11, 22, 10, 0))
_counter = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def grade(enterprise: Enterprise, letter: str, score: int) -> None:
    EnterpriseGrade.objects.filter(enterprise=enterprise, is_current=True).update(is_current=False)
    EnterpriseGrade.objects.create(
        enterprise=enterprise, scheme_version="t", score=score, grade=letter, is_current=True
    )


def record(enterprise: Enterprise, kind: str, value: str = "", **extra: Any) -> CreditRecord:
    n = next(_counter)
    fields: dict[str, Any] = {"decision_date": date(2026, 3, 1), **extra}
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type=kind,
        source_department="测试部门",
        source_record_id=f"R{n}",
        value=value,
        content_hash=f"R{n}",
        **fields,
    )


def authorize(
    enterprise: Enterprise,
    bank: Bank | None = None,
    *,
    purpose: str = "matching",
    start: datetime | None = None,
    until: datetime | None = None,
    status: str = "active",
) -> Authorization:
    """An authorisation row as the service writes it (without the password round trip)."""
    start = start or timezone.now() - timedelta(days=1)
    return Authorization.objects.create(
        number=f"SQ-T{next(_counter)}",
        enterprise=enterprise,
        grantee_bank=bank,
        scope="summary",
        purpose=purpose,
        valid_from=start,
        valid_until=until or timezone.now() + timedelta(days=300),
        status=status,
        granted_by=_granter(),
        digest="0" * 64,
    )


def _granter() -> User:
    user = User.objects.filter(email="granter@example.com").first()
    return user or UserFactory.create(email="granter@example.com")


def terms(**extra: Any) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            **TERMS,
            "min_grade": "",
            "industries": [],
            "towns": [],
            "min_years": None,
            "scales": [],
            "min_tax_grade": "",
            "no_serious_record": False,
            "min_registered_capital": None,
            **extra,
        }
    )


def firm(**fields: Any) -> Enterprise:
    return EnterpriseFactory.create(**{"established_date": date(2015, 5, 5), **fields})


def ids(matches: list[matching.EnterpriseMatch]) -> list[int]:
    return [m.enterprise_id for m in matches]


# ---------------------------------------------------------------------------------------------
# enterprise_filter ≡ check
# ---------------------------------------------------------------------------------------------
def test_enterprise_filter_agrees_with_check_over_a_grid() -> None:
    """The query on profiles admits exactly the enterprises `check` finds eligible, for every
    product of a grid, including the anniversary day, 29 February and missing facts."""
    firms = [
        firm(town="changan", industry_section="C", scale="small"),
        firm(town="songshanhu", industry_section="I", scale="micro", registered_capital=None),
        firm(town="changan", industry_section="C", scale="medium", established_date=None),
        firm(established_date=date(2021, 11, 22), registered_capital=Decimal("1000000")),
        firm(established_date=date(2021, 11, 23), registered_capital=Decimal("999999.99")),
        firm(established_date=date(2024, 2, 29), scale="micro"),
        firm(established_date=date(2023, 3, 1), industry_section="F"),
        firm(established_date=date(2023, 2, 28), town="humen"),
        firm(industry_section=""),
    ]
    grades = [("A", 880), ("B", 700), ("C", 600), ("D", 420), None, ("A", 820), ("B", 760)]
    for enterprise, given in zip(firms, itertools.cycle(grades), strict=False):
        if given:
            grade(enterprise, *given)
    record(firms[0], "tax_grade", "A", decision_date=date(2025, 4, 1))
    record(firms[0], "tax_grade", "M", decision_date=date(2026, 4, 1))  # the latest counts
    record(firms[1], "tax_grade", "b ")
    record(firms[2], "tax_grade", "C")
    record(firms[3], "tax_grade", "B")
    record(firms[4], "tax_grade", "A", status="expired")
    record(firms[5], "tax_grade", "A级")  # not a grade: like no grade at all
    record(firms[6], "serious_dishonesty")
    record(firms[7], "dishonest_debtor", status="repaired")
    record(firms[8], "dishonest_debtor")
    matching.refresh_profiles()
    facts = [eligibility.facts_for(e) for e in firms]
    grid = itertools.product(
        ["", "A", "C"],
        [[], ["C", "I"]],
        [[], ["changan", "songshanhu"]],
        [None, 0, 3, 5],
        [[], ["small", "micro"]],
        ["", "B", "M"],
        [True, False],
        [None, Decimal("1000000")],
    )
    products = [
        terms(
            min_grade=g,
            industries=i,
            towns=t,
            min_years=y,
            scales=s,
            min_tax_grade=tax,
            no_serious_record=serious,
            min_registered_capital=capital,
        )
        for g, i, t, y, s, tax, serious, capital in grid
    ]
    outcomes = set()
    for today in (TODAY, date(2028, 2, 29), date(2027, 2, 28), date(2027, 3, 1)):
        for product in products:
            expected = {
                f.enterprise_id for f in facts if eligibility.check(f, product, today=today).ok
            }
            got = set(
                MatchProfile.objects.filter(
                    eligibility.enterprise_filter(product, today=today)
                ).values_list("enterprise_id", flat=True)
            )
            assert got == expected, (today, vars(product))
            outcomes.add(len(expected))
    assert len(outcomes) > 5  # the grid really separates the firms


def test_enterprise_filter_of_an_impossible_age() -> None:
    firm()
    matching.refresh_profiles()
    product = terms(min_years=3000)
    assert not MatchProfile.objects.filter(eligibility.enterprise_filter(product, today=TODAY))


# ---------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------
def test_refresh_copies_the_facts_opt_in_and_open_demand(bank: Bank, other_bank: Bank) -> None:
    a = firm(registered_capital=Decimal("2000000"), town="songshanhu", industry_section="I")
    b = firm()
    gone = firm(status="cancelled")
    grade(a, "B", 700)
    grade(a, "A", 912)  # the current one
    record(a, "tax_grade", "B", decision_date=date(2025, 1, 1))
    record(a, "tax_grade", " a", decision_date=date(2026, 1, 1))
    record(a, "serious_dishonesty", status="repaired")
    record(b, "dishonest_debtor")
    later = timezone.now() + timedelta(days=200)
    latest = timezone.now() + timedelta(days=400)
    authorize(a, until=later)
    authorize(a, until=latest)
    authorize(a, until=timezone.now() + timedelta(days=900), status="revoked")
    authorize(a, start=timezone.now() + timedelta(days=3))  # not yet in force
    authorize(a, other_bank, purpose="loan_application")  # not matching
    authorize(b, bank)  # to one bank only
    authorize(b, purpose="matching", until=timezone.now() - timedelta(seconds=1))  # ended
    user = UserFactory.create()
    for n, (amount, status) in enumerate(
        [("800000", "submitted"), ("300000", "accepted"), ("900000", "withdrawn")]
    ):
        LoanApplication.objects.create(
            number=f"D{n}",
            kind="demand",
            enterprise=a,
            amount=Decimal(amount),
            term_months=12 + n,
            purpose="设备",
            status=status,
            submitted_by=user,
            submitted_at=timezone.now() - timedelta(days=10 - n),
        )
    MatchProfile.objects.create(enterprise=gone, score=999)  # left over from when it was active

    assert matching.refresh_profiles() == 3  # a and b written, gone removed
    pa = MatchProfile.objects.get(pk=a.pk)
    assert (pa.grade, pa.grade_rank, pa.score) == ("A", 4, 912)
    assert (pa.industry_section, pa.town, pa.scale) == ("I", "songshanhu", "small")
    assert (pa.established, pa.registered_capital) == (date(2015, 5, 5), Decimal("2000000"))
    assert (pa.tax_grade, pa.tax_rank, pa.has_serious_record) == ("A", 5, False)
    assert pa.opt_in_all_until == latest and pa.opted_banks is False
    assert (pa.demand_amount, pa.demand_term) == (Decimal("300000"), 13)
    pb = MatchProfile.objects.get(pk=b.pk)
    assert (pb.grade, pb.grade_rank, pb.score, pb.tax_grade, pb.tax_rank) == ("", 0, 0, "", 0)
    assert pb.has_serious_record is True
    assert pb.opt_in_all_until is None and pb.opted_banks is True
    assert pb.demand_amount is None and pb.demand_term is None
    assert not MatchProfile.objects.filter(pk=gone.pk).exists()
    # idempotent: nothing changed, nothing written
    assert matching.refresh_profiles() == 0
    # a partial refresh reads and writes only its enterprises
    Enterprise.objects.filter(pk__in=[a.pk, b.pk]).update(town="humen")
    assert matching.refresh_profiles([b.pk]) == 1
    assert MatchProfile.objects.get(pk=a.pk).town == "songshanhu"
    assert MatchProfile.objects.get(pk=b.pk).town == "humen"
    Enterprise.objects.filter(pk=b.pk).update(status="revoked")
    assert matching.refresh_profiles([b.pk, 10**9]) == 1
    assert list(MatchProfile.objects.values_list("pk", flat=True)) == [a.pk]


def test_hooks_refresh_after_grants_revocations_demands_and_regrades(
    enterprise: Enterprise,
    enterprise_owner: Any,
    product: LoanProduct,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from enterprises.scoring import run_regrade

    with django_capture_on_commit_callbacks(execute=True):
        run_regrade([enterprise.pk])
    profile = MatchProfile.objects.get(pk=enterprise.pk)
    current = EnterpriseGrade.objects.get(enterprise=enterprise, is_current=True)
    assert (profile.grade, profile.score) == (current.grade, current.score)
    assert profile.opt_in_all_until is None
    with django_capture_on_commit_callbacks(execute=True):
        opt_in = authorization_grant(
            actor=enterprise_owner,
            enterprise=enterprise,
            grantee_bank_id=None,
            scope="summary",
            purpose="matching",
            password=PASSWORD,
        )
    profile.refresh_from_db()
    assert profile.opt_in_all_until == opt_in.valid_until
    with django_capture_on_commit_callbacks(execute=True):
        submit_demand(enterprise_owner, amount=Decimal("600000"), term_months=24)
    profile.refresh_from_db()
    assert (profile.demand_amount, profile.demand_term) == (Decimal("600000"), 24)
    demand = LoanApplication.objects.get(kind="demand")
    with django_capture_on_commit_callbacks(execute=True):
        services.application_move(actor=enterprise_owner, application_id=demand.pk, move="withdraw")
    profile.refresh_from_db()
    assert profile.demand_amount is None
    with django_capture_on_commit_callbacks(execute=True):
        authorization_revoke(actor=enterprise_owner, authorization_id=opt_in.pk)
    profile.refresh_from_db()
    assert profile.opt_in_all_until is None


# ---------------------------------------------------------------------------------------------
# Ranking enterprises for a product
# ---------------------------------------------------------------------------------------------
def _city(bank: Bank, other_bank: Bank) -> dict[str, Enterprise]:
    """Named firms, graded, most of them opted in to all banks."""
    spec: dict[str, dict[str, Any]] = {
        "top": {"grade": ("A", 930), "industry_section": "F", "town": "humen"},
        "maker": {"grade": ("A", 900), "industry_section": "C", "town": "humen"},
        "park": {"grade": ("A", 895), "industry_section": "F", "town": "songshanhu"},
        "needy": {"grade": ("B", 790), "industry_section": "F", "town": "humen"},
        "big": {"grade": ("A", 870), "industry_section": "F", "town": "humen"},
        "hidden": {"grade": ("A", 950), "industry_section": "C", "town": "songshanhu"},
        "mine": {"grade": ("B", 700), "industry_section": "F", "town": "humen"},
        "theirs": {"grade": ("A", 940), "industry_section": "F", "town": "humen"},
        "bad": {"grade": ("A", 945), "industry_section": "F", "town": "humen"},
    }
    firms = {}
    for name, fields in spec.items():
        letter, score = fields.pop("grade")
        firms[name] = firm(name=f"东莞市{name}科技有限公司", **fields)
        grade(firms[name], letter, score)
    for name in ("top", "maker", "park", "needy", "big", "bad"):
        authorize(firms[name])
    authorize(firms["mine"], bank)  # to this bank only
    authorize(firms["theirs"], other_bank)  # to another bank only
    record(firms["bad"], "serious_dishonesty")
    user = UserFactory.create()
    for name, amount, term in (("needy", "500000", 12), ("big", "90000000", 12)):
        LoanApplication.objects.create(
            number=f"D-{name}",
            kind="demand",
            enterprise=firms[name],
            amount=Decimal(amount),
            term_months=term,
            purpose="设备",
            submitted_by=user,
        )
    matching.refresh_profiles()
    return firms


def test_ranking_visibility_order_fit_and_reasons(bank: Bank, other_bank: Bank) -> None:
    firms = _city(bank, other_bank)
    product = terms(no_serious_record=True)  # 10万–300万, 6–36 months
    found = matching.rank_enterprises(product, bank_id=bank.pk, now=timezone.now())
    by_name = {
        m.enterprise_id: n for n, f in firms.items() for m in found if m.enterprise_id == f.pk
    }
    # not opted in ("hidden"), opted in to another bank ("theirs") and not eligible ("bad") never
    # appear; "mine" opted in to this bank only
    fits = {by_name[m.enterprise_id]: m.fit for m in found}
    assert fits == {
        "top": 930,
        "maker": 900 + 10,  # priority industry C
        "park": 895 + 5,  # priority town 松山湖
        "needy": 790 + 20,  # open demand within the product's ranges
        "big": 870 + 5,  # open demand outside them
        "mine": 700,
    }
    assert [by_name[i] for i in ids(found)] == ["top", "maker", "park", "big", "needy", "mine"]
    reasons = {by_name[m.enterprise_id]: m.reasons for m in found}
    assert reasons["top"] == ["信用等级 A（930 分）"]
    assert reasons["maker"] == ["信用等级 A（900 分）", "属于重点行业：制造业"]
    assert reasons["park"] == ["信用等级 A（895 分）", "位于重点镇街：松山湖"]
    assert reasons["needy"] == [
        "信用等级 B（790 分）",
        "融资需求 50 万元 / 12 个月，在产品额度与期限内",
    ]
    assert reasons["big"][1] == "有融资需求 9000 万元 / 12 个月（不在产品额度或期限内）"
    needy = next(m for m in found if m.enterprise_id == firms["needy"].pk)
    assert (needy.demand_amount, needy.demand_term, needy.grade, needy.score) == (
        Decimal("500000.00"),
        12,
        "B",
        790,
    )
    # only "mine" authorised this bank (its matching authorisation is to this bank)
    assert {by_name[m.enterprise_id] for m in found if m.bank_authorized} == {"mine"}
    # the other bank sees "theirs" but not "mine"
    theirs = ids(matching.rank_enterprises(product, bank_id=other_bank.pk))
    assert firms["theirs"].pk in theirs and firms["mine"].pk not in theirs
    # limit
    assert ids(matching.rank_enterprises(product, bank_id=bank.pk, limit=2)) == ids(found)[:2]
    assert matching.rank_enterprises(product, bank_id=bank.pk, limit=0) == []


def test_filters(bank: Bank, other_bank: Bank) -> None:
    firms = _city(bank, other_bank)
    product = terms()

    def names(**filters: Any) -> set[str]:
        found = ids(matching.rank_enterprises(product, bank_id=bank.pk, filters=filters))
        return {n for n, f in firms.items() if f.pk in found}

    assert names(town="songshanhu") == {"park"}
    assert names(industry="C") == {"maker"}
    assert names(grade="B") == {"needy", "mine"}
    assert names(has_demand=True) == {"needy", "big"}
    assert names(has_demand=False) == {"top", "maker", "park", "mine", "bad"}
    assert names(town="", grade=None) == names()
    with pytest.raises(ValueError, match="unknown match filter"):
        matching.rank_enterprises(product, bank_id=bank.pk, filters={"name": "x"})
    # the product's own conditions
    assert {
        n
        for n, f in firms.items()
        if f.pk
        in ids(matching.rank_enterprises(terms(min_grade="A", towns=["humen"]), bank_id=bank.pk))
    } == {"top", "maker", "big", "bad"}


def test_opt_in_that_ended_or_was_revoked_is_gone(bank: Bank, other_bank: Bank) -> None:
    firms = _city(bank, other_bank)
    product = terms()
    assert firms["top"].pk in ids(matching.rank_enterprises(product, bank_id=bank.pk))
    # the all-bank opt-in runs out: the profile's end instant hides it without a refresh
    Authorization.objects.filter(enterprise=firms["top"]).update(
        valid_until=timezone.now() + timedelta(hours=1)
    )
    matching.refresh_profiles([firms["top"].pk])
    later = timezone.now() + timedelta(hours=2)
    assert firms["top"].pk not in ids(
        matching.rank_enterprises(product, bank_id=bank.pk, now=later)
    )
    # revoked, profile not yet refreshed: still never shown (checked against the authorisations)
    top3 = [firms[n].pk for n in ("bad", "top", "maker")]
    assert ids(matching.rank_enterprises(product, bank_id=bank.pk, limit=3)) == top3
    Authorization.objects.filter(enterprise=firms["maker"]).update(status="revoked")
    found = ids(matching.rank_enterprises(product, bank_id=bank.pk, limit=3))
    assert found == [firms[n].pk for n in ("bad", "top", "park")]  # the next one moves up
    # the per-bank opt-in is read at query time
    Authorization.objects.filter(enterprise=firms["mine"]).update(status="revoked")
    assert firms["mine"].pk not in ids(matching.rank_enterprises(product, bank_id=bank.pk))


def test_bank_authorized_shows_only_authorisations_to_this_bank(
    bank: Bank, other_bank: Bank
) -> None:
    firms = _city(bank, other_bank)
    authorize(firms["top"], bank, purpose="loan_application")
    authorize(firms["maker"], other_bank, purpose="loan_application")
    authorize(firms["park"], bank, purpose="guarantee")  # no data purpose for lending
    found = {
        m.enterprise_id: m.bank_authorized
        for m in matching.rank_enterprises(terms(), bank_id=bank.pk)
    }
    assert found[firms["top"].pk] is True
    assert found[firms["mine"].pk] is True  # its matching authorisation is to this bank
    assert found[firms["maker"].pk] is False and found[firms["park"].pk] is False


def test_similar_enterprises_approved_by_this_bank(
    bank: Bank, other_bank: Bank, product: LoanProduct
) -> None:
    firms = _city(bank, other_bank)
    version = product.live_version
    assert version is not None
    user = UserFactory.create()

    def decided(enterprise: Enterprise, status: str, days: int = 10, to: Bank = bank) -> None:
        LoanApplication.objects.create(
            number=f"A{next(_counter)}",
            enterprise=enterprise,
            product_version=version,
            bank=to,
            authorization=authorize(enterprise, to, purpose="loan_application"),
            amount=Decimal("100000"),
            term_months=12,
            purpose="周转",
            status=status,
            submitted_by=user,
            decided_at=timezone.now() - timedelta(days=days),
        )

    # F / A applicants at this bank: 3 approved (one disbursed), 1 rejected → 75 %
    for status in ("approved", "disbursed", "approved", "rejected"):
        decided(firms["top"], status)
    decided(firms["top"], "rejected", days=400)  # outside the window
    decided(firms["top"], "rejected", to=other_bank)  # another bank
    # C / A: only two decided — below the minimum, no bonus
    decided(firms["maker"], "approved")
    decided(firms["maker"], "approved")
    found = {m.enterprise_id: m for m in matching.rank_enterprises(terms(), bank_id=bank.pk)}
    top, big = found[firms["top"].pk], found[firms["big"].pk]
    assert top.fit == 930 + 11  # round(15 × 0.75) = 11.25 → 11
    assert top.reasons[-1] == "同行业同等级企业在本行获批率 75%（4 笔）"
    assert big.fit == 870 + 5 + 11 and big.reasons[-1].startswith("同行业同等级")
    assert found[firms["maker"].pk].fit == 910
    assert found[firms["needy"].pk].fit == 810  # F but grade B: another cell


def test_top_k_is_exact_against_a_brute_force_sort(bank: Bank) -> None:
    """Random profiles: the index-bounded top K equals sorting every visible eligible row."""
    rng = random.Random(7)
    firms = EnterpriseFactory.create_batch(160)
    rows = []
    for enterprise in firms:
        opted = rng.random() < 0.7
        demand = rng.choice([None, Decimal("50000"), Decimal("500000"), Decimal("9000000")])
        rows.append(
            MatchProfile(
                enterprise=enterprise,
                grade=rng.choice("ABCD"),
                score=rng.choice([700, 720, 740, 760, 780, 800, 820, 840, 860, 880]),
                industry_section=rng.choice("CFIM"),
                town=rng.choice(["humen", "changan", "songshanhu", "binhaiwan"]),
                scale="small",
                has_serious_record=rng.random() < 0.1,
                opt_in_all_until=timezone.now() + timedelta(days=30) if opted else None,
                demand_amount=demand,
                demand_term=rng.choice([3, 12, 48]) if demand else None,
            )
        )
        if opted:
            authorize(enterprise)
    for row in rows:
        row.grade_rank = eligibility.GRADE_ORDER[row.grade]
    MatchProfile.objects.bulk_create(rows)
    product = terms(no_serious_record=True, min_grade="B")
    industries, towns = matching.priorities()

    def fit(p: MatchProfile) -> int:
        value = p.score
        if p.demand_amount is not None:
            fits = matching._demand_fits(product, p.demand_amount, p.demand_term)
            value += matching.DEMAND_FITS if fits else matching.DEMAND_OTHER
        value += matching.PRIORITY_INDUSTRY if p.industry_section in industries else 0
        return value + (matching.PRIORITY_TOWN if p.town in towns else 0)

    eligible = [
        p for p in rows if p.opt_in_all_until and not p.has_serious_record and p.grade_rank >= 3
    ]
    expected = sorted(eligible, key=lambda p: (-fit(p), -p.score, p.enterprise_id))
    for k in (1, 5, 17, 40, 500):
        found = matching.rank_enterprises(product, bank_id=bank.pk, limit=k)
        assert [(m.enterprise_id, m.fit) for m in found] == [
            (p.enterprise_id, fit(p)) for p in expected[:k]
        ]


# ---------------------------------------------------------------------------------------------
# Ranking products for an enterprise
# ---------------------------------------------------------------------------------------------
def test_rank_products_by_rate_demand_fit_and_approvals(
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
    credit_office: Any,
    other_bank: Bank,
) -> None:
    Enterprise.objects.filter(pk=enterprise.pk).update(established_date=date(2020, 1, 1))
    grade(enterprise, "B", 760)
    cheap = publish(bank_officer, credit_office, "P1", rate_min=Decimal("3.45"))
    wide = publish(
        other_bank_officer,
        credit_office,
        "P2",
        name="大额经营贷",
        rate_min=Decimal("4.5"),
        rate_max=Decimal("6"),
        amount_max=Decimal("10000000"),
        term_max=60,
    )
    publish(bank_officer, credit_office, "P3", name="A级专享", min_grade="A")  # not eligible
    enterprise.refresh_from_db()
    first = matching.rank_products(enterprise)
    assert [m.product_id for m in first] == [cheap.pk, wide.pk]
    assert [m.fit for m in first] == [46, 35]  # (8 − 3.45) × 10 = 45.5 → 46; (8 − 4.5) × 10
    assert first[0].reasons == [
        "年利率 3.45%–4.2%",
        "额度 10–300 万元，期限 6–36 个月",
        "满足全部 1 项条件",
    ]
    assert first[0].bank_name == cheap.bank.name and first[0].name == "科创信用贷"
    assert first[0].version == cheap.live_version
    # a demand of 500 万 over 48 months fits only the wide product; its bank approves 2 of 3
    LoanApplication.objects.create(
        number="D1",
        kind="demand",
        enterprise=enterprise,
        amount=Decimal("5000000"),
        term_months=48,
        purpose="扩产",
        submitted_by=enterprise_owner,
    )
    user = UserFactory.create()
    for n, status in enumerate(("approved", "closed", "rejected")):
        LoanApplication.objects.create(
            number=f"X{n}",
            enterprise=EnterpriseFactory.create(),
            product_version=wide.live_version,
            bank=other_bank,
            authorization=authorize(enterprise, other_bank, purpose="loan_application"),
            amount=Decimal("100000"),
            term_months=12,
            purpose="周转",
            status=status,
            submitted_by=user,
            decided_at=timezone.now() - timedelta(days=30),
        )
    ranked = matching.rank_products(enterprise)
    assert [m.product_id for m in ranked] == [wide.pk, cheap.pk]
    assert [m.fit for m in ranked] == [35 + 30 + 13, 46]  # 20 × 2/3 = 13.3 → 13
    assert ranked[0].demand_fits is True and ranked[0].approval_rate == Decimal("0.6667")
    assert ranked[0].reasons[1:3] == [
        "额度 10–1000 万元、期限 6–60 个月，覆盖贵企业的融资需求 500 万元 / 48 个月",
        "该行近 180 天审批通过率 67%（3 笔）",
    ]
    assert ranked[1].reasons[1] == "额度 10–300 万元，与贵企业的融资需求 500 万元不符"
    assert [m.product_id for m in matching.rank_products(enterprise, limit=1)] == [wide.pk]


def test_rank_products_reads_listed_versions_only(
    enterprise: Enterprise, bank_officer: Any, credit_office: Any
) -> None:
    from banks import products

    listed = publish(bank_officer, credit_office, "L1")
    products.product_update(actor=bank_officer, product_id=listed.pk, terms={"rate_min": "1"})
    products.product_move(actor=credit_office, product_id=listed.pk, move="retire")
    draft = products.product_create(actor=bank_officer, code="D1", terms=TERMS)
    found = matching.rank_products(enterprise)
    assert draft.pk not in [m.product_id for m in found]
    assert found == []
    assert LoanProductVersion.objects.count() == 1


def test_priorities_accept_town_names_and_refuse_unknown(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.MATCH_PRIORITY_TOWNS = ["松山湖", "滨海湾新区", "humen"]
    assert matching.priorities() == (["C", "I", "M"], ["songshanhu", "binhaiwan", "humen"])
    settings.MATCH_PRIORITY_TOWNS = ["火星"]
    with pytest.raises(ImproperlyConfigured):
        matching.priorities()
    settings.MATCH_PRIORITY_TOWNS = []
    settings.MATCH_PRIORITY_INDUSTRIES = []
    assert matching.priorities() == ([], [])


def test_a_bank_without_any_visible_firm(bank: Bank) -> None:
    assert matching.rank_enterprises(terms(), bank_id=bank.pk) == []
    assert BankFactory.create().pk != bank.pk
