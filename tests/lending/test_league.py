"""The banks' service league table (服务排名): every figure on known timestamps, the period,
the ranking, who may see it, and the page, CSV and API that show it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from banks import products
from banks.models import Bank, LoanProduct
from enterprises.models import Authorization, Enterprise
from lending import league
from lending.models import ApplicationKind, LoanApplication
from tests.factories import BankFactory, UserFactory, make_bank_member
from tests.lending.conftest import TERMS

pytestmark = pytest.mark.django_db

BJ = league.REPORT_TZ
MARCH = league.Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=BJ)  # a Monday morning, Beijing
_numbers = count(1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def grant(enterprise: Enterprise, bank: Bank, owner: Any) -> Authorization:
    authorization, _created = Authorization.objects.get_or_create(
        number=f"SQ-LEAGUE-{enterprise.pk}-{bank.pk}",
        defaults={
            "enterprise": enterprise,
            "grantee_bank": bank,
            "scope": "records",
            "purpose": "loan_application",
            "valid_from": T0 - timedelta(days=400),
            "valid_until": T0 + timedelta(days=400),
            "granted_by": owner,
            "digest": "0" * 64,
        },
    )
    return authorization


def make(
    bank: Bank | None,
    owner: Any,
    *,
    product: LoanProduct | None = None,
    submitted_at: datetime = T0,
    **fields: Any,
) -> LoanApplication:
    """An application to `product` (or a financing demand, accepted by `bank` when given)
    with the timestamps and outcome the test states; the pick-up is due a day after."""
    enterprise = owner.enterprise_membership.enterprise
    values: dict[str, Any] = {
        "number": f"DK-LEAGUE-{next(_numbers)}",
        "kind": ApplicationKind.PRODUCT if product else ApplicationKind.DEMAND,
        "enterprise": enterprise,
        "product_version": product.live_version if product else None,
        "bank": bank,
        "authorization": grant(enterprise, bank, owner) if bank else None,
        "amount": Decimal("3000000"),
        "term_months": 12,
        "purpose": "采购原材料",
        "submitted_by": owner,
        "submitted_at": submitted_at,
        "pickup_due": submitted_at + timedelta(hours=24),
        "status": "submitted",
    }
    return LoanApplication.objects.create(**(values | fields))


def publish(bank: Bank, credit_office: Any, code: str) -> LoanProduct:
    officer = UserFactory.create()
    make_bank_member(officer, bank, "officer")
    p = products.product_create(actor=officer, code=code, terms=TERMS)
    products.product_move(actor=officer, product_id=p.pk, move="submit")
    return products.product_move(actor=credit_office, product_id=p.pk, move="publish")


@pytest.fixture
def third_bank(db: Any, credit_office: Any) -> Bank:
    """Lists a product and receives nothing."""
    bank = BankFactory.create(name="第三家银行")
    publish(bank, credit_office, "C-01")
    return bank


@pytest.fixture
def figures(
    product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    third_bank: Bank,
    enterprise_owner: Any,
) -> dict[str, Bank]:
    """Bank A (`bank`, product applications) and bank B (`other_bank`, demands it accepted)."""
    o = enterprise_owner
    # Bank A: 7 received, one withdrawn before pick-up
    make(
        bank,
        o,
        product=product,
        status="disbursed",
        accepted_at=h(2),
        decided_at=h(26),
        disbursed_amount=Decimal("1234567.89"),
        disbursed_on=date(2026, 3, 10),
        disbursed_guarantee_method="credit",
        first_loan=True,
    )
    make(
        bank,
        o,
        product=product,
        status="closed",
        accepted_at=h(4),
        decided_at=h(50),
        disbursed_amount=Decimal("765432.11"),
        disbursed_on=date(2026, 3, 12),
        disbursed_guarantee_method="mortgage",
        first_loan=False,
    )
    make(bank, o, product=product, status="rejected", accepted_at=h(6), decided_at=h(10))
    make(bank, o, product=product, status="under_review", accepted_at=h(30))  # late pick-up
    make(bank, o, product=product)  # still waiting
    make(bank, o, product=product, status="withdrawn")  # withdrawn before any pick-up
    make(bank, o, product=product, status="withdrawn", accepted_at=h(1))  # after pick-up
    # Bank B: two demands it accepted (even counts), one approved and one rejected
    make(other_bank, o, status="approved", accepted_at=h(1.5), decided_at=h(3))
    make(other_bank, o, status="rejected", accepted_at=h(2.25), decided_at=h(5.5))
    # a demand still in the pool counts for no bank
    make(None, o)
    return {"a": bank, "b": other_bank, "c": third_bank}


def by_bank(rows: list[league.LeagueRow]) -> dict[int, league.LeagueRow]:
    return {row.bank_id: row for row in rows}


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def test_every_figure_of_a_bank(figures: dict[str, Bank], credit_office: Any) -> None:
    rows = by_bank(league.league_table(user=credit_office, period=MARCH))
    a = rows[figures["a"].pk]
    assert (a.received, a.withdrawn_before_pickup, a.pickup_base, a.picked_up, a.on_time) == (
        7,
        1,
        6,
        5,
        4,
    )
    assert a.pickup_rate == Decimal("0.8333") and a.pickup_percent == Decimal("83.3")
    assert a.on_time_pickup_rate == Decimal("0.6667")
    # hours to pick-up 2, 4, 6, 30, 1 → 4; to decision 26, 50, 10 → 26 (odd counts)
    assert a.median_hours_to_pickup == Decimal("4.0")
    assert a.median_hours_to_decision == Decimal("26.0")
    assert (a.approved, a.decided, a.approval_rate) == (2, 3, Decimal("0.6667"))
    assert a.disbursed_count == 2
    assert a.amount_disbursed == Decimal("2000000.00")
    assert isinstance(a.amount_disbursed, Decimal) and a.amount_disbursed_wan == Decimal("200.00")
    # 1,234,567.89 of 2,000,000.00 disbursed as credit loans
    assert a.credit_loan_share == Decimal("0.6173") and a.credit_loan_percent == Decimal("61.7")
    assert a.first_loans == 1


def test_demands_count_for_the_bank_that_accepted_them(
    figures: dict[str, Bank], credit_office: Any
) -> None:
    b = by_bank(league.league_table(user=credit_office, period=MARCH))[figures["b"].pk]
    assert (b.received, b.picked_up, b.pickup_rate, b.on_time_pickup_rate) == (
        2,
        2,
        Decimal("1.0000"),
        Decimal("1.0000"),
    )
    # even counts: (1.5 + 2.25) / 2 = 1.875 → 1.9; (3 + 5.5) / 2 = 4.25 → 4.3 (half up)
    assert (b.median_hours_to_pickup, b.median_hours_to_decision) == (
        Decimal("1.9"),
        Decimal("4.3"),
    )
    assert b.approval_rate == Decimal("0.5000")
    assert (b.disbursed_count, b.amount_disbursed, b.credit_loan_share, b.first_loans) == (
        0,
        Decimal("0.00"),
        None,
        0,
    )
    # the demand still in the pool is nobody's
    assert sum(r.received for r in league.league_table(user=credit_office, period=MARCH)) == 9


def test_a_bank_with_a_listed_product_and_no_applications_shows_no_rates(
    figures: dict[str, Bank], credit_office: Any
) -> None:
    c = by_bank(league.league_table(user=credit_office, period=MARCH))[figures["c"].pk]
    assert (c.received, c.picked_up, c.disbursed_count, c.amount_disbursed, c.first_loans) == (
        0,
        0,
        0,
        Decimal("0.00"),
        0,
    )
    assert [
        c.pickup_rate,
        c.on_time_pickup_rate,
        c.median_hours_to_pickup,
        c.median_hours_to_decision,
        c.approval_rate,
        c.credit_loan_share,
        c.rank,
    ] == [None] * 7


def test_withdrawn_before_pickup_is_not_the_banks_miss(
    product: LoanProduct, bank: Bank, enterprise_owner: Any, credit_office: Any
) -> None:
    make(bank, enterprise_owner, product=product, status="accepted", accepted_at=h(1))
    make(bank, enterprise_owner, product=product, status="withdrawn")
    row = by_bank(league.league_table(user=credit_office, period=MARCH))[bank.pk]
    assert (row.received, row.picked_up, row.pickup_rate) == (2, 1, Decimal("1.0000"))
    # withdrawn after the pick-up stays in: it was picked up
    make(bank, enterprise_owner, product=product, status="withdrawn", accepted_at=h(2))
    make(bank, enterprise_owner, product=product)  # never picked up
    row = by_bank(league.league_table(user=credit_office, period=MARCH))[bank.pk]
    assert (row.received, row.pickup_base, row.picked_up, row.pickup_rate) == (
        4,
        3,
        2,
        Decimal("0.6667"),
    )


def test_median_of_odd_even_and_no_values() -> None:
    assert league.median([Decimal(3), Decimal(1), Decimal(2)]) == Decimal("2.0")
    assert league.median([Decimal("0.05"), Decimal("0.1")]) == Decimal("0.1")  # 0.075 → 0.1
    assert league.median([Decimal(10), Decimal(1), Decimal(4), Decimal(2)]) == Decimal("3.0")
    assert league.median([]) is None
    assert league.hours_between(T0, T0 + timedelta(minutes=90, seconds=18)) == Decimal("1.505")


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------
def test_rank_order_ties_share_a_rank_and_banks_without_applications_come_last(
    figures: dict[str, Bank], credit_office: Any
) -> None:
    rows = league.league_table(user=credit_office, period=MARCH)
    assert [(r.bank_id, r.rank) for r in rows] == [
        (figures["b"].pk, 1),  # 100% picked up
        (figures["a"].pk, 2),  # 83.3%
        (figures["c"].pk, None),
    ]


def test_rank_keys_in_order() -> None:
    def row(name: str, picked: int, decision: str | None, approved: int) -> league.LeagueRow:
        return league.LeagueRow(
            bank_id=len(name),
            bank_name=name,
            received=4,
            picked_up=picked,
            approved=approved,
            rejected=4 - approved,
            median_hours_to_decision=None if decision is None else Decimal(decision),
        )

    rows = [
        row("乙", 4, "30.0", 2),
        row("甲", 4, "30.0", 2),  # ties with 乙: same rank, by name
        row("丙", 4, "12.0", 1),  # faster decisions beat a higher approval rate
        row("丁", 4, None, 4),  # no decision yet: after every median
        row("戊", 3, "1.0", 4),  # a lower pick-up rate comes after all of those
        row("己", 4, "12.0", 3),
    ]
    ranked = league._rank(rows)
    assert [(r.bank_name, r.rank) for r in ranked] == [
        ("己", 1),
        ("丙", 2),
        ("乙", 3),
        ("甲", 3),
        ("丁", 5),
        ("戊", 6),
    ]


# ---------------------------------------------------------------------------------------------
# The period
# ---------------------------------------------------------------------------------------------
def test_the_period_is_beijing_days_with_both_ends_included(
    product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    credit_office: Any,
) -> None:
    o = enterprise_owner
    make(bank, o, product=product, submitted_at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=BJ))
    make(bank, o, product=product, submitted_at=datetime(2026, 3, 1, 0, 0, tzinfo=BJ))
    make(bank, o, product=product, submitted_at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=BJ))
    make(bank, o, product=product, submitted_at=datetime(2026, 4, 1, 0, 0, tzinfo=BJ))
    # a bank with no listed product and only an application outside the period is not shown
    make(other_bank, o, submitted_at=datetime(2026, 1, 5, 10, 0, tzinfo=BJ))
    rows = league.league_table(user=credit_office, period=MARCH)
    assert [(r.bank_id, r.received) for r in rows] == [(bank.pk, 2)]
    january = league.Period(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert {
        r.bank_id: r.received for r in league.league_table(user=credit_office, period=january)
    } == {
        bank.pk: 0,
        other_bank.pk: 1,
    }


def test_default_period_is_the_last_90_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(league, "today", lambda: date(2026, 3, 31))
    assert league.resolve_period(None, None) == league.Period(date(2026, 1, 1), date(2026, 3, 31))
    assert league.resolve_period(None, date(2026, 2, 28)).start == date(2025, 12, 1)
    assert league.resolve_period(date(2026, 3, 5), None).end == date(2026, 3, 31)
    assert league.period_errors(date(2026, 3, 2), date(2026, 3, 1)) == {
        "to": "截止日期不能早于起始日期"
    }
    assert league.period_errors(date(2020, 1, 1), date(2026, 3, 1))["to"].startswith("统计区间最长")
    assert league.period_errors(date(2026, 3, 1), date(2026, 3, 1)) == {}


def test_today_is_the_beijing_date(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TIME_ZONE = "UTC"
    # 17:30 UTC on 31 March is 01:30 on 1 April in Beijing
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    assert league.today() == date(2026, 4, 1)
    assert league.default_period() == league.Period(date(2026, 1, 2), date(2026, 4, 1))


# ---------------------------------------------------------------------------------------------
# Who sees it
# ---------------------------------------------------------------------------------------------
URL = "/loans/league/"
API = "/api/v1/lending/league/"


def test_page_and_api_access_per_role(
    figures: dict[str, Bank],
    login: Any,
    credit_office: Any,
    bank_admin: Any,
    bank_officer: Any,
    enterprise_owner: Any,
) -> None:
    anonymous = Client()
    page = anonymous.get(URL)
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert anonymous.get(API).status_code == 403
    for user in (bank_officer, enterprise_owner):
        client = login(user)
        assert client.get(URL).status_code == 403
        assert client.get(URL + "?export=csv").status_code == 403
        refused = client.get(API)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    for user in (credit_office, bank_admin):
        client = login(user)
        assert client.get(URL).status_code == 200
        assert client.get(API).status_code == 200
    assert league.league_table(user=bank_officer, period=MARCH) == []


def test_office_sees_all_banks_and_a_bank_admin_sees_where_its_bank_stands(
    figures: dict[str, Bank], login: Any, credit_office: Any, bank_admin: Any
) -> None:
    params = "?from=2026-03-01&to=2026-03-31"
    office = login(credit_office).get(URL + params)
    html = office.content.decode()
    for name in ("东莞示范银行", "另一家银行", "第三家银行"):
        assert name in html
    assert "table-primary" not in html
    assert "83.3%" in html and "61.7%" in html and "200.00" in html
    assert 'id="chart-league"' in html and "vendor/echarts/echarts.min.js" in html
    # the admin of bank A: the same table, bank A's row highlighted
    admin = login(bank_admin).get(URL + params)
    rows = admin.context["rows"]
    assert [r.bank_id for r in rows] == [r.bank_id for r in office.context["rows"]]
    assert [r.own for r in rows] == [r.bank_id == figures["a"].pk for r in rows]
    html = admin.content.decode()
    assert html.count('class="table-primary"') == 1 and "本行" in html
    body = login(bank_admin).get(API + params).json()
    assert [b["bank"]["id"] for b in body["banks"]] == [r.bank_id for r in rows]


def test_nav_link_for_office_and_bank_admins_only(
    login: Any, credit_office: Any, bank_admin: Any, bank_officer: Any
) -> None:
    for user, shown in ((credit_office, True), (bank_admin, True), (bank_officer, False)):
        html = login(user).get("/notifications/").content.decode()
        assert (f'href="{URL}"' in html) is shown


# ---------------------------------------------------------------------------------------------
# Page, CSV and API
# ---------------------------------------------------------------------------------------------
def test_page_defaults_to_the_last_90_days_and_checks_dates(
    figures: dict[str, Bank],
    login: Any,
    credit_office: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(league, "today", lambda: date(2026, 5, 29))
    client = login(credit_office)
    page = client.get(URL)
    assert page.context["period"] == league.Period(date(2026, 3, 1), date(2026, 5, 29))
    assert 'value="2026-03-01"' in page.content.decode()
    assert sum(r.received for r in page.context["rows"]) == 9
    # 91 days back is outside
    monkeypatch.setattr(league, "today", lambda: date(2026, 5, 31))
    assert sum(r.received for r in client.get(URL).context["rows"]) == 0
    wrong = client.get(URL + "?from=2026-03-31&to=2026-03-01")
    assert wrong.status_code == 200 and wrong.context["rows"] == []
    assert wrong.context["form"].errors == {"to": ["截止日期不能早于起始日期"]}
    assert "截止日期不能早于起始日期" in wrong.content.decode()
    bad = client.get(URL + "?from=2026-13-01&export=csv")
    assert bad["Content-Type"].startswith("text/html")
    assert bad.context["form"].errors == {"from": ["请输入有效的日期（YYYY-MM-DD）"]}


def test_csv_export(figures: dict[str, Bank], login: Any, credit_office: Any) -> None:
    response = login(credit_office).get(URL + "?from=2026-03-01&to=2026-03-31&export=csv")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="bank-league-20260301-20260331.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "bank",
        "received",
        "picked_up",
        "pickup_rate",
        "on_time_pickup_rate",
        "median_hours_to_pickup",
        "median_hours_to_decision",
        "approval_rate",
        "disbursed_count",
        "amount_disbursed",
        "credit_loan_share",
        "first_loans",
    ]
    assert rows[1:] == [
        ["另一家银行", "2", "2", "1.0000", "1.0000", "1.9", "4.3", "0.5000", "0", "0.00", "", "0"],
        [
            "东莞示范银行",
            "7",
            "5",
            "0.8333",
            "0.6667",
            "4.0",
            "26.0",
            "0.6667",
            "2",
            "2000000.00",
            "0.6173",
            "1",
        ],
        ["第三家银行", "0", "0", "", "", "", "", "", "0", "0.00", "", "0"],
    ]


def test_api_figures_as_strings(figures: dict[str, Bank], login: Any, credit_office: Any) -> None:
    body = login(credit_office).get(API + "?from=2026-03-01&to=2026-03-31").json()
    assert (body["from"], body["to"]) == ("2026-03-01", "2026-03-31")
    a = body["banks"][1]
    assert a == {
        "bank": {"id": figures["a"].pk, "name": "东莞示范银行"},
        "rank": 2,
        "received": 7,
        "picked_up": 5,
        "pickup_rate": "0.8333",
        "on_time_pickup_rate": "0.6667",
        "median_hours_to_pickup": "4.0",
        "median_hours_to_decision": "26.0",
        "approval_rate": "0.6667",
        "disbursed_count": 2,
        "amount_disbursed": "2000000.00",
        "credit_loan_share": "0.6173",
        "first_loans": 1,
    }
    c = body["banks"][2]
    assert (c["rank"], c["pickup_rate"], c["median_hours_to_decision"], c["credit_loan_share"]) == (
        None,
        None,
        None,
        None,
    )


def test_api_checks_the_dates(login: Any, credit_office: Any) -> None:
    client = login(credit_office)
    wrong = client.get(API + "?from=2026-03-31&to=2026-03-01")
    assert wrong.status_code == 400
    assert wrong.json()["detail"] == {"to": ["截止日期不能早于起始日期"]}
    bad = client.get(API + "?to=31/03/2026")
    assert bad.status_code == 400 and bad.json()["detail"] == {
        "to": ["请输入有效的日期（YYYY-MM-DD）"]
    }
    assert client.get(API).json()["to"] == league.today().isoformat()


def test_schema_describes_the_league(db: Any) -> None:
    import yaml

    spec = yaml.safe_load(Client().get("/api/v1/schema/").content)
    operation = spec["paths"]["/api/v1/lending/league/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
    row = spec["components"]["schemas"]["LeagueRow"]["properties"]
    assert row["pickup_rate"]["type"] == "string" and row["pickup_rate"]["nullable"] is True


def test_page_in_english(figures: dict[str, Bank], login: Any, credit_office: Any) -> None:
    client = login(credit_office)
    client.cookies["django_language"] = "en"
    html = client.get(URL + "?from=2026-03-01&to=2026-03-31").content.decode()
    assert "Bank Service League Table" in html and "Median hours to decision" in html
    wrong = client.get(API + "?from=2026-03-31&to=2026-03-01")
    assert wrong.json()["detail"] == {"to": ["The end date cannot be earlier than the start date"]}


def test_queries_do_not_grow_with_banks_or_applications(
    figures: dict[str, Bank],
    credit_office: Any,
    django_assert_max_num_queries: Any,
) -> None:
    league.can_view_league(credit_office)  # roles are read once per request
    with django_assert_max_num_queries(3):  # counts, timestamps, banks
        assert len(league.league_table(user=credit_office, period=MARCH)) == 3
