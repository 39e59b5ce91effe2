"""Loan products: terms validation, every allowed and forbidden move, versions, the marketplace
API and its eligibility lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from banks import products as services
from banks.models import LoanProduct, LoanProductVersion, ProductEvent
from enterprises.models import CreditRecord, Enterprise
from enterprises.scoring import regrade
from lending import eligibility
from tests.factories import BankFactory, EnterpriseFactory, UserFactory, make_bank_member
from xinyidai.core.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def terms(**extra: Any) -> dict[str, Any]:
    return {
        "name": "科创信用贷",
        "kind": "credit",
        "guarantee_methods": ["credit"],
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "rate_min": Decimal("3.4500"),
        "rate_max": Decimal("4.2000"),
        "term_min": 6,
        "term_max": 36,
        "repayment_methods": ["interest_first", "equal_instalment"],
        **extra,
    }


def published(officer: Any, office: Any, code: str = "KC-01", **extra: Any) -> LoanProduct:
    product = services.product_create(actor=officer, code=code, terms=terms(**extra))
    services.product_move(actor=officer, product_id=product.pk, move="submit")
    return services.product_move(actor=office, product_id=product.pk, move="publish")


# ---------------------------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------------------------
def test_create_makes_a_draft_of_the_officers_bank(bank: Any, bank_officer: Any) -> None:
    product = services.product_create(actor=bank_officer, code="KC-01", terms=terms())
    assert (product.bank_id, product.status, product.listed, product.live_version) == (
        bank.pk,
        "draft",
        False,
        None,
    )
    assert product.guarantee_index == ",credit,"
    assert product.amount_max == Decimal("3000000")


def test_every_fault_in_the_terms_is_named(bank_officer: Any) -> None:
    with pytest.raises(DomainError) as bad:
        services.product_create(
            actor=bank_officer,
            code="X",
            terms=terms(
                amount_min=Decimal("500"),
                amount_max=Decimal("100"),
                rate_min=Decimal("0"),
                term_max=0,
                guarantee_methods=["gold"],
                repayment_methods=[],
                min_grade="E",
                industries=["Z"],
                towns=["atlantis"],
            ),
        )
    detail = bad.value.detail
    assert bad.value.code == "invalid_terms"
    assert set(detail) >= {
        "amount_max",
        "rate_min",
        "term_min",
        "guarantee_methods",
        "repayment_methods",
        "min_grade",
        "industries",
        "towns",
    }
    assert "最高额度不能低于最低额度" in detail["amount_max"]
    assert LoanProduct.objects.count() == 0


def test_codes_are_unique_per_bank(bank_officer: Any) -> None:
    services.product_create(actor=bank_officer, code="KC-01", terms=terms())
    with pytest.raises(Conflict):
        services.product_create(actor=bank_officer, code="KC-01", terms=terms())
    other = UserFactory.create()
    make_bank_member(other, BankFactory.create(), "officer")
    assert services.product_create(actor=other, code="KC-01", terms=terms()).pk


def test_only_bank_staff_create(enterprise_owner: Any, credit_office: Any) -> None:
    for user in (enterprise_owner, credit_office):
        with pytest.raises(DomainError) as refused:
            services.product_create(actor=user, code="A", terms=terms())
        assert refused.value.code == "not_bank_staff"


# ---------------------------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------------------------
ALLOWED = [
    ("draft", "submit", "bank_officer", "pending_review"),
    ("pending_review", "publish", "credit_office", "published"),
    ("pending_review", "reject", "credit_office", "draft"),
    ("published", "suspend", "bank_admin", "suspended"),
    ("published", "suspend", "credit_office", "suspended"),
    ("suspended", "resume", "bank_admin", "published"),
    ("suspended", "resume", "credit_office", "published"),
    ("draft", "retire", "bank_admin", "retired"),
    ("pending_review", "retire", "credit_office", "retired"),
    ("published", "retire", "bank_admin", "retired"),
    ("suspended", "retire", "credit_office", "retired"),
]


def bring_to(status: str, officer: Any, office: Any) -> LoanProduct:
    product = services.product_create(actor=officer, code=f"P-{status}", terms=terms())
    path = {
        "draft": [],
        "pending_review": ["submit"],
        "published": ["submit", "publish"],
        "suspended": ["submit", "publish", "suspend"],
        "retired": ["retire"],
    }[status]
    for move in path:
        actor = office if move in ("publish", "suspend", "retire") else officer
        product = services.product_move(actor=actor, product_id=product.pk, move=move)
    return product


@pytest.mark.parametrize(("start", "move", "role", "end"), ALLOWED)
def test_allowed_moves(
    start: str, move: str, role: str, end: str, bank_officer: Any, credit_office: Any, request: Any
) -> None:
    product = bring_to(start, bank_officer, credit_office)
    actor = request.getfixturevalue(role)
    moved = services.product_move(
        actor=actor, product_id=product.pk, move=move, reason="材料不全" if move == "reject" else ""
    )
    assert moved.status == end
    event = ProductEvent.objects.filter(product=product).last()
    assert event is not None
    assert (event.move, event.old_status, event.new_status, event.actor_id) == (
        move,
        start,
        end,
        actor.pk,
    )
    assert moved.listed is (end == "published")


FORBIDDEN_BY_STATUS = [
    (start, move)
    for start in ("draft", "pending_review", "published", "suspended", "retired")
    for move in services.MOVES
    if start not in services.MOVES[move][0]
]


@pytest.mark.parametrize(("start", "move"), FORBIDDEN_BY_STATUS)
def test_forbidden_moves_answer_409_with_the_allowed_ones(
    start: str, move: str, bank_officer: Any, credit_office: Any
) -> None:
    product = bring_to(start, bank_officer, credit_office)
    actor = bank_officer if move == "submit" else credit_office  # someone who may, in principle
    with pytest.raises(Conflict) as refused:
        services.product_move(actor=actor, product_id=product.pk, move=move, reason="x")
    assert refused.value.detail == {"status": start, "allowed": services.allowed_moves(product)}
    product.refresh_from_db()
    assert product.status == start


@pytest.mark.parametrize(
    ("start", "move", "role"),
    [
        ("draft", "submit", "credit_office"),
        ("pending_review", "publish", "bank_admin"),
        ("pending_review", "reject", "bank_officer"),
        ("published", "suspend", "bank_officer"),
        ("suspended", "resume", "bank_officer"),
        ("draft", "retire", "bank_officer"),
        ("published", "suspend", "enterprise_owner"),
    ],
)
def test_moves_by_the_wrong_role_are_refused(
    start: str, move: str, role: str, bank_officer: Any, credit_office: Any, request: Any
) -> None:
    product = bring_to(start, bank_officer, credit_office)
    with pytest.raises(DomainError) as refused:
        services.product_move(
            actor=request.getfixturevalue(role), product_id=product.pk, move=move, reason="x"
        )
    assert refused.value.code == "move_forbidden"


def test_another_banks_staff_cannot_move_or_edit(bank_officer: Any, credit_office: Any) -> None:
    product = bring_to("published", bank_officer, credit_office)
    stranger = UserFactory.create()
    make_bank_member(stranger, BankFactory.create(), "admin")
    with pytest.raises(DomainError):
        services.product_move(actor=stranger, product_id=product.pk, move="suspend")
    with pytest.raises(DomainError):
        services.product_update(actor=stranger, product_id=product.pk, terms={"name": "改"})


def test_reject_needs_a_reason(bank_officer: Any, credit_office: Any) -> None:
    product = bring_to("pending_review", bank_officer, credit_office)
    with pytest.raises(DomainError) as refused:
        services.product_move(actor=credit_office, product_id=product.pk, move="reject")
    assert refused.value.code == "reason_required"


def test_revision_keeps_the_live_version_listed_until_published(
    bank_officer: Any, credit_office: Any
) -> None:
    product = published(bank_officer, credit_office)
    v1 = product.live_version
    assert v1 is not None and v1.number == 1
    revised = services.product_update(
        actor=bank_officer, product_id=product.pk, terms={"rate_min": Decimal("3.1000")}
    )
    assert (revised.status, revised.listed, revised.live_version_id) == ("draft", True, v1.pk)
    assert services.listed_versions().get().rate_min == Decimal("3.4500")  # still v1
    services.product_move(actor=bank_officer, product_id=product.pk, move="submit")
    with pytest.raises(Conflict):  # under review: locked
        services.product_update(actor=bank_officer, product_id=product.pk, terms={"name": "x"})
    product = services.product_move(actor=credit_office, product_id=product.pk, move="publish")
    assert product.live_version is not None and product.live_version.number == 2
    assert services.listed_versions().get().rate_min == Decimal("3.1000")
    v1.refresh_from_db()
    assert v1.rate_min == Decimal("3.4500")  # versions never change
    assert LoanProductVersion.objects.filter(product=product).count() == 2


# ---------------------------------------------------------------------------------------------
# Eligibility
# ---------------------------------------------------------------------------------------------
def record(enterprise: Enterprise, record_type: str, value: str = "", sid: str = "R1") -> None:
    CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type=record_type,
        source_department="测试部门",
        source_record_id=sid,
        decision_date=date(2026, 3, 1),
        value=value,
        content_hash=sid,
    )


def test_eligibility_lists_each_condition_and_what_is_missing() -> None:
    firm = EnterpriseFactory.create(
        established_date=date(2025, 1, 10),
        registered_capital=Decimal("500000"),
        town="changan",
        industry_section="C",
        scale="small",
    )
    record(firm, "tax_grade", "B")
    regrade([firm.pk])
    facts = eligibility.facts_for(firm)
    product = LoanProduct(
        **terms(
            min_grade="A",
            industries=["C", "I"],
            towns=["changan"],
            min_years=2,
            scales=["micro", "small"],
            min_tax_grade="A",
            no_serious_record=True,
            min_registered_capital=Decimal("1000000"),
        )
    )
    result = eligibility.check(facts, product, today=date(2026, 11, 22))
    by_code = {c.code: c.ok for c in result.conditions}
    assert by_code == {
        "min_grade": facts.grade == "A",
        "industries": True,
        "towns": True,
        "min_years": False,
        "scales": True,
        "min_tax_grade": False,
        "no_serious_record": True,
        "min_registered_capital": False,
    }
    assert result.total == 8 and not result.ok
    summary = result.summary()
    assert summary.startswith(f"满足 {result.met}/8 项；不满足：")
    assert "成立年限不足 2 年" in summary
    assert "纳税信用等级为 B，要求 A 级及以上" in summary
    assert "注册资本不足 100 万元" in summary
    assert eligibility.check(facts, LoanProduct(**terms(no_serious_record=False))).summary() == (
        "满足全部 0 项条件"
    )


def test_a_serious_record_fails_the_condition() -> None:
    firm = EnterpriseFactory.create()
    record(firm, "dishonest_debtor")
    result = eligibility.check(eligibility.facts_for(firm), LoanProduct(**terms()))
    assert [c.failure for c in result.conditions] == ["存在有效的失信被执行人或严重失信记录"]


def test_years_are_counted_to_the_anniversary() -> None:
    facts = eligibility.facts_for(EnterpriseFactory.create(established_date=date(2024, 11, 23)))
    product = LoanProduct(**terms(min_years=2, no_serious_record=False))
    assert not eligibility.check(facts, product, today=date(2026, 11, 22)).ok
    assert eligibility.check(facts, product, today=date(2026, 11, 23)).ok


# ---------------------------------------------------------------------------------------------
# Marketplace API
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def shelf(bank_officer: Any, credit_office: Any) -> dict[str, LoanProduct]:
    other = UserFactory.create()
    make_bank_member(other, BankFactory.create(name="第二银行"), "officer")
    return {
        "cheap": published(bank_officer, credit_office, "A", rate_min=Decimal("3.1")),
        "big": published(
            other,
            credit_office,
            "B",
            name="大额抵押贷",
            kind="renewal",
            guarantee_methods=["mortgage"],
            amount_max=Decimal("10000000"),
            rate_min=Decimal("3.9"),
            rate_max=Decimal("5"),
            term_max=60,
        ),
        "strict": published(
            bank_officer, credit_office, "C", name="老企业贷", min_years=30, rate_min=Decimal("3.5")
        ),
        "draft": services.product_create(actor=bank_officer, code="D", terms=terms()),
    }


def market(client: Client, query: str = "") -> list[str]:
    body = client.get(f"/api/v1/products/{query}").json()
    return [r["code"] for r in body["results"]]


def test_market_is_public_sorted_and_filtered(shelf: dict[str, LoanProduct]) -> None:
    client = Client()
    assert market(client) == ["A", "C", "B"]  # by lowest rate; the draft is not listed
    assert market(client, "?sort=-amount")[0] == "B"
    assert market(client, "?sort=term")[0] == "B"
    assert market(client, "?amount=5000000") == ["B"]
    assert market(client, "?term=48") == ["B"]
    assert market(client, "?kind=renewal") == ["B"]
    assert market(client, "?kind=renewal&kind=credit") == ["A", "C", "B"]
    assert market(client, "?rate_max=3.45") == ["A"]
    assert market(client, "?guarantee=mortgage") == ["B"]
    assert market(client, "?q=老企业") == ["C"]
    assert market(client, "?q=第二银行") == ["B"]
    assert market(client, f"?bank={shelf['big'].bank_id}") == ["B"]
    bad = client.get("/api/v1/products/?amount=lots")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_filter")
    first = client.get("/api/v1/products/").json()["results"][0]
    assert first["eligibility"] is None
    assert first["bank"]["name"] == shelf["cheap"].bank.name
    assert (first["version"], first["kind_name"], first["guarantee_names"]) == (
        1,
        "信用贷",
        ["信用"],
    )
    assert first["rate_min"] == "3.1000" and first["amount_max"] == "3000000.00"


def test_market_shows_an_enterprise_what_it_misses(
    shelf: dict[str, LoanProduct], enterprise: Enterprise, enterprise_owner: Any, login: Any
) -> None:
    Enterprise.objects.filter(pk=enterprise.pk).update(established_date=date(2020, 1, 1))
    client = login(enterprise_owner)
    rows = {r["code"]: r["eligibility"] for r in client.get("/api/v1/products/").json()["results"]}
    assert rows["A"]["eligible"] is True and rows["A"]["summary"] == "满足全部 1 项条件"
    assert rows["C"]["eligible"] is False
    assert rows["C"]["summary"] == "满足 1/2 项；不满足：成立年限不足 30 年"
    assert market(client, "?eligible=true") == ["A", "B"]
    detail = client.get(f"/api/v1/products/{shelf['strict'].pk}/").json()
    assert detail["eligibility"]["met"] == 1
    assert Client().get(f"/api/v1/products/{shelf['draft'].pk}/").status_code == 404


def test_manage_api_per_tenant_and_moves(
    shelf: dict[str, LoanProduct], bank_officer: Any, credit_office: Any, login: Any
) -> None:
    mine = login(bank_officer).get("/api/v1/products/manage/").json()["results"]
    assert sorted(r["code"] for r in mine) == ["A", "C", "D"]
    office = login(credit_office)
    assert len(office.get("/api/v1/products/manage/").json()["results"]) == 4
    draft = shelf["draft"]
    officer = login(bank_officer)
    submitted = officer.post(
        f"/api/v1/products/{draft.pk}/submit/", content_type="application/json"
    )
    assert submitted.json()["status"] == "pending_review"
    queue = office.get("/api/v1/products/manage/?status=pending_review").json()["results"]
    assert [r["code"] for r in queue] == ["D"]
    again = officer.post(f"/api/v1/products/{draft.pk}/submit/", content_type="application/json")
    assert again.status_code == 409
    assert again.json()["detail"]["allowed"] == ["publish", "reject", "retire"]
    published_ = office.post(
        f"/api/v1/products/{draft.pk}/publish/", content_type="application/json"
    )
    assert (published_.json()["status"], published_.json()["live_version"]) == ("published", 1)
    edit = officer.patch(
        f"/api/v1/products/{draft.pk}/",
        {"amount_max": "100"},
        content_type="application/json",
    )
    assert edit.status_code == 400 and "amount_max" in edit.json()["detail"]
    created = officer.post(
        "/api/v1/products/",
        {**{k: str(v) if isinstance(v, Decimal) else v for k, v in terms().items()}, "code": "E"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["status"] == "draft"


def test_passes_agrees_with_check_on_many_products() -> None:
    """The fast filter and the explained check are one set of rules."""
    import itertools

    firm = EnterpriseFactory.create(established_date=date(2023, 6, 1))
    record(firm, "tax_grade", "M")
    regrade([firm.pk])
    facts = eligibility.facts_for(firm)
    grid = itertools.product(
        ["", "A", "C"],
        [[], ["C"], ["I"]],
        [None, 2, 5],
        ["", "B", "C"],
        [True, False],
        [None, Decimal("1000000"), Decimal("9000000")],
    )
    seen = set()
    products: list[tuple[LoanProduct, bool]] = []
    for grade, industries, years, tax, serious, capital in grid:
        product = LoanProduct(
            **terms(
                min_grade=grade,
                industries=industries,
                min_years=years,
                min_tax_grade=tax,
                no_serious_record=serious,
                min_registered_capital=capital,
            )
        )
        ok = eligibility.check(facts, product, today=date(2026, 11, 22)).ok
        assert eligibility.passes(facts, product, today=date(2026, 11, 22)) is ok
        seen.add(ok)
        products.append((product, ok))
    assert seen == {True, False}
    # the SQL prefilter never drops an eligible product, and drops every product failing only
    # scalar conditions
    staff = UserFactory.create()
    bank = BankFactory.create()
    for i, (product, _ok) in enumerate(products):
        product.bank, product.code, product.created_by = bank, f"G{i}", staff
        product.save()
    kept = set(
        LoanProduct.objects.filter(
            eligibility.sql_prefilter(facts, today=date(2026, 11, 22))
        ).values_list("code", flat=True)
    )
    for i, (product, ok) in enumerate(products):
        scalar_only = LoanProduct(**{**product.terms(), "industries": []})
        scalar_ok = eligibility.passes(facts, scalar_only, today=date(2026, 11, 22))
        assert (f"G{i}" in kept) is scalar_ok, product.terms()
        if ok:
            assert f"G{i}" in kept
