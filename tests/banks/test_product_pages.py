"""The loan-product pages: the public marketplace and product page, the banks' product
management, the credit office's review queue, and the moves' buttons."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from banks import products as services
from banks.models import LoanProduct, ProductEvent
from enterprises.models import Enterprise
from tests.factories import BankFactory, UserFactory, make_bank_member
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db

MARKET = "/market/"
MANAGE = "/banks/products/"
NEW = "/banks/products/new/"


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


def published(staff: User, office: User, code: str, **extra: Any) -> LoanProduct:
    product = services.product_create(actor=staff, code=code, terms=terms(**extra))
    services.product_move(actor=staff, product_id=product.pk, move="submit")
    return services.product_move(actor=office, product_id=product.pk, move="publish")


def html(response: Any) -> str:
    return str(response.content.decode())


def cards(response: Any) -> list[str]:
    """Product codes of the marketplace cards, in page order."""
    assert response.status_code == 200
    return re.findall(r'data-product="([^"]+)"', html(response))


def flash(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def csv_lines(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(text.splitlines()))


def manage_detail(product: LoanProduct) -> str:
    return f"/banks/products/{product.pk}/"


def status_of(product: LoanProduct) -> str:
    return LoanProduct.objects.values_list("status", flat=True).get(pk=product.pk)


@pytest.fixture
def second_bank_officer(db: Any) -> User:
    user = UserFactory.create(email="second.officer@example.com")
    make_bank_member(user, BankFactory.create(name="第二银行"), "officer")
    return user


@pytest.fixture
def shelf(bank_officer: User, second_bank_officer: User, credit_office: User) -> dict[str, Any]:
    """Three listed products of two banks, one under review and one draft."""
    cheap = published(
        bank_officer, credit_office, "A", rate_min=Decimal("3.1"), risk_compensation=True
    )
    big = published(
        second_bank_officer,
        credit_office,
        "B",
        name="大额抵押贷",
        kind="renewal",
        guarantee_methods=["mortgage"],
        amount_max=Decimal("10000000"),
        rate_min=Decimal("3.9"),
        rate_max=Decimal("5"),
        term_max=60,
    )
    strict = published(
        bank_officer, credit_office, "C", name="老企业贷", min_years=30, rate_min=Decimal("3.5")
    )
    pending = services.product_create(actor=bank_officer, code="P", terms=terms(name="待审贷"))
    services.product_move(actor=bank_officer, product_id=pending.pk, move="submit")
    draft = services.product_create(actor=bank_officer, code="D", terms=terms(name="草稿贷"))
    return {"cheap": cheap, "big": big, "strict": strict, "pending": pending, "draft": draft}


@pytest.fixture
def old_enterprise(enterprise: Enterprise) -> Enterprise:
    Enterprise.objects.filter(pk=enterprise.pk).update(established_date=date(2020, 1, 1))
    return enterprise


# ---------------------------------------------------------------------------------------------
# The marketplace
# ---------------------------------------------------------------------------------------------
def test_market_is_public_sorted_and_filtered(shelf: dict[str, Any]) -> None:
    client = Client()
    assert cards(client.get(MARKET)) == ["A", "C", "B"]  # lowest rate first; no draft, no review
    assert cards(client.get(MARKET + "?sort=-amount")) == ["B", "A", "C"]
    assert cards(client.get(MARKET + "?sort=term")) == ["B", "A", "C"]
    assert cards(client.get(MARKET + "?sort=newest")) == ["C", "B", "A"]
    assert cards(client.get(MARKET + "?amount=5000000")) == ["B"]
    assert cards(client.get(MARKET + "?term=48")) == ["B"]
    assert cards(client.get(MARKET + "?kind=renewal")) == ["B"]
    assert cards(client.get(MARKET + "?kind=renewal&kind=credit")) == ["A", "C", "B"]
    assert cards(client.get(MARKET + "?rate_max=3.45")) == ["A"]
    assert cards(client.get(MARKET + f"?bank={shelf['big'].bank_id}")) == ["B"]
    assert cards(client.get(MARKET + "?guarantee=mortgage")) == ["B"]
    assert cards(client.get(MARKET + "?q=老企业")) == ["C"]
    assert cards(client.get(MARKET + "?q=第二银行")) == ["B"]
    assert cards(client.get(MARKET + "?risk_compensation=1")) == ["A"]
    assert cards(client.get(MARKET + "?amount=5000000&sort=rate&kind=credit")) == []


def test_market_cards_read_in_wan_and_percent(shelf: dict[str, Any]) -> None:
    page = html(Client().get(MARKET + "?q=大额"))
    assert "10–1000 万元" in page
    assert "3.9–5 %" in page
    assert "6–60 个月" in page
    assert "续贷/无还本续贷" in page and "第二银行" in page
    assert "担保：抵押 · 还款：先息后本、等额本息" in page
    assert "风险补偿" not in page.split('id="market-count"')[1]
    assert "风险补偿" in html(Client().get(MARKET + "?q=科创")).split('id="market-count"')[1]
    assert "xyd-eligibility" not in page  # nobody signed in: no eligibility line


def test_a_bad_filter_is_named_and_lists_nothing(shelf: dict[str, Any]) -> None:
    response = Client().get(MARKET + "?amount=lots&sort=cheapest")
    assert cards(response) == []
    form = response.context["form"]
    assert "amount" in form.errors and "sort" in form.errors


def test_market_pages_by_twenty(bank_officer: User, credit_office: User) -> None:
    for n in range(21):
        rate = Decimal(3) + Decimal(n) / 10
        published(bank_officer, credit_office, f"N{n:02d}", rate_min=rate, rate_max=rate + 1)
    client = Client()
    first = cards(client.get(MARKET))
    assert len(first) == 20 and first[0] == "N00"
    assert cards(client.get(MARKET + "?page=2")) == ["N20"]


def test_an_enterprise_sees_what_it_meets(
    shelf: dict[str, Any], old_enterprise: Enterprise, enterprise_owner: User, login: Any
) -> None:
    page = html(login(enterprise_owner).get(MARKET))
    lines = dict(
        re.findall(r'data-product="(\w+)".*?xyd-eligibility[^"]*">([^<]+)<', page, re.DOTALL)
    )
    assert lines == {
        "A": "满足全部 1 项条件",
        "C": "满足 1/2 项；不满足：成立年限不足 30 年",
        "B": "满足全部 1 项条件",
    }
    assert "bg-warning-subtle" in page and "bg-success-subtle" in page


def test_only_what_i_can_apply_for(
    shelf: dict[str, Any],
    old_enterprise: Enterprise,
    enterprise_owner: User,
    bank_officer: User,
    credit_office: User,
    login: Any,
) -> None:
    published(bank_officer, credit_office, "T", towns=["dongcheng"], rate_min=Decimal("3.2"))
    client = login(enterprise_owner)
    assert 'name="eligible"' in html(client.get(MARKET))
    assert cards(client.get(MARKET)) == ["A", "T", "C", "B"]
    # C asks for 30 years (the SQL prefilter), T for another town (the rules on the rows)
    assert cards(client.get(MARKET + "?eligible=1")) == ["A", "B"]
    assert cards(client.get(MARKET + "?eligible=1&kind=credit")) == ["A"]
    # not an enterprise: the box is not offered and the parameter changes nothing
    anonymous = Client().get(MARKET + "?eligible=1")
    assert cards(anonymous) == ["A", "T", "C", "B"]
    assert 'name="eligible"' not in html(anonymous)


def test_facts_are_read_once_per_page(
    bank_officer: User, credit_office: User, old_enterprise: Enterprise, enterprise_owner: User
) -> None:
    client = Client()
    client.force_login(enterprise_owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(MARKET).status_code == 200
        return len(captured)

    published(bank_officer, credit_office, "Q1", min_years=1)
    few = queries()
    for n in range(2, 7):
        published(bank_officer, credit_office, f"Q{n}", min_years=n, min_grade="B")
    assert queries() == few


def test_product_page_lists_terms_and_conditions(
    shelf: dict[str, Any], old_enterprise: Enterprise, enterprise_owner: User, login: Any
) -> None:
    strict = shelf["strict"]
    anonymous = Client().get(f"/market/{strict.pk}/")
    page = html(anonymous)
    version = strict.live_version
    assert "老企业贷" in page and "第 1 版" in page
    assert f"{timezone.localtime(version.published_at):%Y-%m-%d} 发布" in page
    assert "10–300 万元" in page and "3.5–4.2 %" in page and "6–36 个月" in page
    assert "满 30 年" in page and "无有效的失信被执行人或严重失信记录" in page
    assert "✓" not in page and "✗" not in page and 'id="apply-button"' not in page
    assert f"?next=/market/{strict.pk}/apply/" in page  # anonymous: sign in to apply

    mine = login(enterprise_owner).get(f"/market/{strict.pk}/")
    rows = {c["code"]: c["ok"] for c in mine.context["conditions"]}
    assert rows == {"min_years": False, "no_serious_record": True}
    text = html(mine)
    assert "✓" in text and "✗" in text and "成立年限不足 30 年" in text
    assert "满足 1/2 项；不满足：成立年限不足 30 年" in text
    assert "在线申请" not in text  # not eligible: no button

    for hidden in ("pending", "draft"):
        assert Client().get(f"/market/{shelf[hidden].pk}/").status_code == 404


def test_navigation_links(credit_office: User, bank_officer: User, login: Any) -> None:
    anonymous = html(Client().get("/"))
    assert 'href="/market/"' in anonymous and "产品超市" in anonymous
    assert "贷款产品" not in anonymous
    officer = html(login(bank_officer).get("/"))
    assert f'href="{MANAGE}">贷款产品' in officer
    office = html(login(credit_office).get("/"))
    assert f'href="{MANAGE}">产品审核' in office and 'href="/market/"' in office


# ---------------------------------------------------------------------------------------------
# Management list
# ---------------------------------------------------------------------------------------------
def listed_codes(response: Any) -> list[str]:
    assert response.status_code == 200
    return sorted(p.code for p in response.context["page"])


def test_each_bank_sees_its_own_products_in_every_status(
    shelf: dict[str, Any],
    bank_officer: User,
    bank_admin: User,
    second_bank_officer: User,
    login: Any,
) -> None:
    assert listed_codes(login(bank_officer).get(MANAGE)) == ["A", "C", "D", "P"]
    assert listed_codes(login(bank_admin).get(MANAGE)) == ["A", "C", "D", "P"]
    assert listed_codes(login(second_bank_officer).get(MANAGE)) == ["B"]
    stranger = UserFactory.create()
    make_bank_member(stranger, BankFactory.create(name="第三银行"), "admin")
    response = login(stranger).get(MANAGE)
    assert listed_codes(response) == []
    assert "新建产品" in html(response)
    assert listed_codes(login(bank_officer).get(MANAGE + "?status=draft")) == ["D"]
    assert listed_codes(login(bank_officer).get(MANAGE + "?q=老企业")) == ["C"]


def test_the_office_starts_at_its_review_queue(
    shelf: dict[str, Any], credit_office: User, login: Any
) -> None:
    client = login(credit_office)
    queue = client.get(MANAGE)
    assert listed_codes(queue) == ["P"]
    assert queue.context["form"]["status"].value() == "pending_review"
    assert "新建产品" not in html(queue) and "产品审核" in html(queue)
    assert listed_codes(client.get(MANAGE + "?status=")) == ["A", "B", "C", "D", "P"]
    assert listed_codes(client.get(MANAGE + "?status=published")) == ["A", "B", "C"]


def test_csv_export(shelf: dict[str, Any], bank_officer: User, login: Any) -> None:
    response = login(bank_officer).get(MANAGE + "?status=published&export=csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = csv_lines(response)
    assert lines[0] == [
        "code",
        "name",
        "bank",
        "status",
        "kind",
        "amount_min",
        "amount_max",
        "rate_min",
        "rate_max",
        "term_min",
        "term_max",
        "live_version",
        "listed",
        "updated_at",
    ]
    rows = {line[0]: line for line in lines[1:]}
    assert set(rows) == {"A", "C"}
    assert rows["A"][:13] == [
        "A",
        "科创信用贷",
        "东莞示范银行",
        "published",
        "credit",
        "100000.00",
        "3000000.00",
        "3.1000",
        "4.2000",
        "6",
        "36",
        "1",
        "1",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows["A"][13])


# ---------------------------------------------------------------------------------------------
# Create and edit
# ---------------------------------------------------------------------------------------------
def form_data(**extra: Any) -> dict[str, Any]:
    return {
        "code": "KC-09",
        "name": "科技成长贷",
        "kind": "tech",
        "guarantee_methods": ["credit", "surety"],
        "repayment_methods": ["interest_first"],
        "amount_min": "200000",
        "amount_max": "5000000",
        "rate_min": "3.35",
        "rate_max": "4.1",
        "term_min": "12",
        "term_max": "36",
        "description": "面向科技型中小企业",
        "min_grade": "B",
        "min_tax_grade": "M",
        "min_years": "2",
        "min_registered_capital": "1000000",
        "industries": ["C", "I"],
        "towns": ["songshanhu", "changan"],
        "scales": ["micro", "small"],
        "no_serious_record": "on",
        "required_scope": "records",
        "risk_compensation": "on",
        **extra,
    }


def test_create_shows_each_fault_under_its_field_and_keeps_the_input(
    bank_officer: User, login: Any
) -> None:
    client = login(bank_officer)
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, form_data(amount_max="100000", guarantee_methods=[]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["amount_max"] == ["最高额度不能低于最低额度"]
    assert form.errors["guarantee_methods"] == ["至少选择一种担保方式"]
    assert form.non_field_errors() == ["产品条款有误，请按标红的提示修改。"]
    page = html(response)
    assert 'value="200000"' in page and 'value="100000"' in page and 'value="科技成长贷"' in page
    assert re.search(r'value="songshanhu" checked', page)
    assert re.search(r'value="I" checked', page)
    assert LoanProduct.objects.count() == 0


def test_create_refuses_a_code_taken_and_a_bad_number(
    shelf: dict[str, Any], bank_officer: User, login: Any
) -> None:
    client = login(bank_officer)
    taken = client.post(NEW, form_data(code="A"))
    assert taken.context["form"].errors["code"] == ["编码已被使用"]
    bad = client.post(NEW, form_data(rate_min="三点五"))
    assert "rate_min" in bad.context["form"].errors
    assert LoanProduct.objects.filter(code="KC-09").count() == 0


def test_create_saves_a_draft(bank: Any, bank_officer: User, login: Any) -> None:
    response = login(bank_officer).post(NEW, form_data())
    product = LoanProduct.objects.get(code="KC-09")
    assert response.status_code == 302 and response["Location"] == manage_detail(product)
    assert (product.bank_id, product.status, product.created_by_id) == (
        bank.pk,
        "draft",
        bank_officer.pk,
    )
    assert (product.amount_min, product.amount_max) == (Decimal("200000"), Decimal("5000000"))
    assert (product.rate_min, product.rate_max) == (Decimal("3.35"), Decimal("4.1"))
    assert (product.term_min, product.term_max, product.min_years) == (12, 36, 2)
    assert product.guarantee_methods == ["credit", "surety"]
    assert (product.industries, product.towns, product.scales) == (
        ["C", "I"],
        ["songshanhu", "changan"],
        ["micro", "small"],
    )
    assert (product.min_grade, product.min_tax_grade, product.required_scope) == (
        "B",
        "M",
        "records",
    )
    assert product.risk_compensation and product.no_serious_record
    assert product.min_registered_capital == Decimal("1000000")


def test_the_office_cannot_create(credit_office: User, login: Any) -> None:
    assert login(credit_office).get(NEW).status_code == 403


def test_editing_a_published_product_keeps_the_live_version_on_the_market(
    shelf: dict[str, Any], bank_officer: User, login: Any
) -> None:
    cheap = shelf["cheap"]
    client = login(bank_officer)
    edit = f"/banks/products/{cheap.pk}/edit/"
    form = client.get(edit)
    assert "修改已发布产品将生成新版本，审核通过前产品超市仍展示当前版本" in html(form)
    assert 'name="code"' not in html(form)
    assert 'value="科创信用贷"' in html(form)
    data = {
        k: v for k, v in form_data(name="科创信用贷（新）", rate_min="2.9").items() if k != "code"
    }
    response = client.post(edit, data)
    assert response.status_code == 302
    cheap.refresh_from_db()
    assert (cheap.status, cheap.listed, cheap.rate_min) == ("draft", True, Decimal("2.9"))
    market = html(Client().get(MARKET + "?q=科创"))
    assert "3.1–4.2 %" in market and "科创信用贷（新）" not in market
    assert "3.1–4.2 %" in html(Client().get(f"/market/{cheap.pk}/"))
    detail = html(client.get(manage_detail(cheap)))
    assert "审核通过前，产品超市仍展示当前在售版本" in detail and "2.9–4.1 %" in detail
    assert ProductEvent.objects.filter(product=cheap, move="revise").count() == 1


def test_a_product_under_review_cannot_be_edited(
    shelf: dict[str, Any], bank_officer: User, login: Any
) -> None:
    pending = shelf["pending"]
    client = login(bank_officer)
    edit = f"/banks/products/{pending.pk}/edit/"
    assert "产品状态为「待审核」，不能修改。" in html(client.get(edit))
    response = client.post(edit, {k: v for k, v in form_data().items() if k != "code"})
    assert response.status_code == 200
    assert "产品状态为「待审核」，不能修改。" in response.context["form"].non_field_errors()
    assert LoanProduct.objects.get(pk=pending.pk).name == "待审贷"


def test_another_banks_product_is_not_found(
    shelf: dict[str, Any], second_bank_officer: User, login: Any
) -> None:
    client = login(second_bank_officer)
    cheap = shelf["cheap"]
    assert client.get(manage_detail(cheap)).status_code == 404
    assert client.get(f"/banks/products/{cheap.pk}/edit/").status_code == 404
    assert client.post(f"/banks/products/{cheap.pk}/suspend/").status_code == 404
    assert status_of(cheap) == "published"


# ---------------------------------------------------------------------------------------------
# Detail and moves
# ---------------------------------------------------------------------------------------------
def buttons(response: Any) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'data-move="(\w+)"', html(response))


def move(client: Client, product: LoanProduct, name: str, reason: str = "") -> Any:
    return client.post(f"/banks/products/{product.pk}/{name}/", {"reason": reason}, follow=True)


def test_the_whole_review_through_the_buttons(
    shelf: dict[str, Any], bank_officer: User, bank_admin: User, credit_office: User, login: Any
) -> None:
    draft = shelf["draft"]
    officer, admin, office = login(bank_officer), login(bank_admin), login(credit_office)
    assert buttons(officer.get(manage_detail(draft))) == ["submit"]
    assert buttons(admin.get(manage_detail(draft))) == ["submit", "retire"]
    assert "修改条款" in html(officer.get(manage_detail(draft)))

    submitted = move(officer, draft, "submit")
    assert status_of(draft) == "pending_review"
    assert flash(submitted) == ["已提交信用办审核。"]
    assert buttons(officer.get(manage_detail(draft))) == []
    assert buttons(office.get(manage_detail(draft))) == ["publish", "reject", "retire"]
    assert "修改条款" not in html(office.get(manage_detail(draft)))

    no_reason = move(office, draft, "reject")
    assert flash(no_reason) == ["退回须说明原因。"] and status_of(draft) == "pending_review"
    rejected = move(office, draft, "reject", "利率上限请与备案一致")
    assert status_of(draft) == "draft"
    assert "利率上限请与备案一致" in html(rejected)  # review note and history

    move(officer, draft, "submit")
    published_ = move(office, draft, "publish")
    assert status_of(draft) == "published"
    assert flash(published_) == ["已发布，产品超市展示新版本。"]
    page = html(office.get(manage_detail(draft)))
    assert f'href="/market/{draft.pk}/"' in page and "在售第 1 版" in page
    assert "D" in cards(Client().get(MARKET))
    assert buttons(officer.get(manage_detail(draft))) == []
    assert buttons(admin.get(manage_detail(draft))) == ["suspend", "retire"]

    move(admin, draft, "suspend", "额度用完")
    assert status_of(draft) == "suspended" and "D" not in cards(Client().get(MARKET))
    assert buttons(office.get(manage_detail(draft))) == ["resume", "retire"]
    move(office, draft, "resume")
    assert status_of(draft) == "published" and "D" in cards(Client().get(MARKET))
    move(admin, draft, "retire", "产品停办")
    assert status_of(draft) == "retired" and "D" not in cards(Client().get(MARKET))
    assert buttons(admin.get(manage_detail(draft))) == []

    history = list(
        ProductEvent.objects.filter(product=draft)
        .order_by("at", "id")
        .values_list("move", "reason")
    )
    assert history == [
        ("submit", ""),
        ("reject", "利率上限请与备案一致"),
        ("submit", ""),
        ("publish", ""),
        ("suspend", "额度用完"),
        ("resume", ""),
        ("retire", "产品停办"),
    ]
    page = html(admin.get(manage_detail(draft)))
    for label in ("提交审核", "退回修改", "审核通过并发布", "暂停展示", "恢复展示", "下架"):
        assert label in page
    assert "第 1 版" in page


@pytest.mark.parametrize(
    ("product", "name", "role", "message"),
    [
        ("pending", "publish", "bank_officer", "您无权对该产品执行此操作。"),
        ("pending", "publish", "bank_admin", "您无权对该产品执行此操作。"),
        ("draft", "submit", "credit_office", "您无权对该产品执行此操作。"),
        ("cheap", "suspend", "bank_officer", "您无权对该产品执行此操作。"),
        ("draft", "publish", "credit_office", "产品状态为「草稿」，不能执行该操作。"),
        ("cheap", "resume", "bank_admin", "产品状态为「已发布」，不能执行该操作。"),
    ],
)
def test_a_forbidden_move_says_why_and_changes_nothing(
    shelf: dict[str, Any],
    product: str,
    name: str,
    role: str,
    message: str,
    request: Any,
    login: Any,
) -> None:
    target = shelf[product]
    before = status_of(target)
    response = move(login(request.getfixturevalue(role)), target, name, "试试")
    assert response.redirect_chain[-1][0] == manage_detail(target)
    assert flash(response) == [message]
    assert status_of(target) == before


def test_unknown_moves_and_gets_are_refused(
    shelf: dict[str, Any], credit_office: User, login: Any
) -> None:
    client = login(credit_office)
    assert client.post(f"/banks/products/{shelf['pending'].pk}/approve/").status_code == 404
    assert client.get(f"/banks/products/{shelf['pending'].pk}/publish/").status_code == 405
    assert status_of(shelf["pending"]) == "pending_review"
