"""The loan-application pages: the enterprise applies to a product or posts a financing demand;
bank staff pick applications up and handle them; the credit office follows them, exports them
and reads the joint-punishment feedback. The pages are lists and cards, never wide tables."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from banks import products
from banks.models import LoanProduct
from enterprises.models import Authorization, CreditRecord, Enterprise
from lending import services
from lending.models import (
    ApplicationEvent,
    DemandOffer,
    LoanApplication,
    PunishmentFeedback,
)
from lending.views import CSV_HEADER
from tests.factories import PASSWORD, UserFactory, make_bank_member, make_enterprise_member
from tests.lending.conftest import TERMS
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db

LIST = "/loans/"
DEMAND = "/loans/demands/new/"
PUNISHMENTS = "/loans/punishments/"


# ---------------------------------------------------------------------------------------------
# Reading pages
# ---------------------------------------------------------------------------------------------
def html(response: Any) -> str:
    return str(response.content.decode())


def flash(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def csv_lines(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(text.splitlines()))


def block(page: str, element_id: str) -> str:
    """The markup of the element with `element_id`, up to its closing tag."""
    start = page.rindex("<", 0, page.index(f'id="{element_id}"'))
    tag = re.match(r"<(\w+)", page[start:])
    assert tag, element_id
    depth = 0
    for found in re.finditer(rf"<(/?){tag.group(1)}\b[^>]*>", page[start:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return page[start : start + found.end()]
    raise AssertionError(f"{element_id} is not closed")


def errors_under(page: str, field_id: str) -> list[str]:
    """The error lines printed under one field (partials/field.html)."""
    start = page.index(f'id="{field_id}"')
    stop = min(e for e in (page.find("<label", start), page.find("</form>", start)) if e != -1)
    return re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', page[start:stop])


def value_of(page: str, field_id: str) -> str | None:
    match = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', page)
    assert match, field_id
    found = re.search(r'value="([^"]*)"', match.group(0))
    return found.group(1) if found else None


def selected(page: str, field_id: str) -> list[str]:
    match = re.search(rf'<select [^>]*id="{field_id}"[^>]*>(.*?)</select>', page, re.S)
    assert match, field_id
    return re.findall(r'<option value="([^"]*)" selected>', match.group(1))


def numbers(response: Any) -> set[str]:
    """Application numbers listed on the list page."""
    assert response.status_code == 200
    return set(
        re.findall(r'class="xyd-code">(DK[^<]+)<', block(html(response), "application-list"))
    )


def moves_shown(response: Any) -> list[str]:
    return re.findall(
        r'<form method="post" action="[^"]+" [^>]*id="move-([a-z_]+)"', html(response)
    )


# ---------------------------------------------------------------------------------------------
# The world of these tests
# ---------------------------------------------------------------------------------------------
def apply_url(product: LoanProduct) -> str:
    return f"/market/{product.pk}/apply/"


def detail(application: LoanApplication) -> str:
    return f"/loans/{application.pk}/"


def move(application: LoanApplication, name: str) -> str:
    return f"/loans/{application.pk}/{name}/"


def apply_form(**extra: Any) -> dict[str, Any]:
    return {
        "amount": "500000",
        "term_months": "12",
        "repayment_method": "interest_first",
        "purpose": "采购原材料",
        "password": PASSWORD,
        **extra,
    }


def demand_form(**extra: Any) -> dict[str, Any]:
    return {
        "amount": "800000",
        "term_months": "12",
        "preferred_guarantee": "",
        "purpose": "支付货款",
        "password": PASSWORD,
        **extra,
    }


def publish(staff: User, office: User, code: str, **terms: Any) -> LoanProduct:
    p = products.product_create(actor=staff, code=code, terms={**TERMS, **terms})
    products.product_move(actor=staff, product_id=p.pk, move="submit")
    return products.product_move(actor=office, product_id=p.pk, move="publish")


def submit(owner: User, product: LoanProduct, **extra: Any) -> LoanApplication:
    fields: dict[str, Any] = {
        "actor": owner,
        "product_id": product.pk,
        "amount": Decimal("500000"),
        "term_months": 12,
        "repayment_method": "interest_first",
        "purpose": "采购原材料",
        "password": PASSWORD,
    }
    application = services.application_submit(**(fields | extra)).application
    assert application is not None
    return application


def to_move(actor: User, application: LoanApplication, name: str, **data: Any) -> None:
    services.application_move(actor=actor, application_id=application.pk, move=name, **data)


def serious_record(enterprise: Enterprise) -> CreditRecord:
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type="serious_dishonesty",
        source_department="东莞市发展和改革局",
        source_record_id="YZ-1",
        decision_date=date(2026, 4, 1),
        content_hash="YZ-1",
    )


@pytest.fixture
def owner(enterprise_owner: User, login: Any) -> Client:
    return login(enterprise_owner)


@pytest.fixture
def other_officer(other_bank: Any) -> User:
    user = UserFactory.create(email="other.officer@example.com")
    make_bank_member(user, other_bank, "officer")
    return user


@pytest.fixture
def other_owner(other_enterprise: Enterprise) -> User:
    user = UserFactory.create(email="other.owner@example.com")
    make_enterprise_member(user, other_enterprise, "owner")
    return user


@pytest.fixture
def mortgage_product(other_officer: User, credit_office: User) -> LoanProduct:
    """The other bank's product: secured by a mortgage, a wider data scope, larger amounts."""
    return publish(
        other_officer,
        credit_office,
        "DY-01",
        name="厂房抵押贷",
        guarantee_methods=["mortgage"],
        amount_max=Decimal("10000000"),
        required_scope="portrait",
    )


@pytest.fixture
def queue(
    product: LoanProduct,
    mortgage_product: LoanProduct,
    enterprise_owner: User,
    other_owner: User,
) -> dict[str, LoanApplication]:
    """What the banks have to handle: an application to each bank's product, and a demand in
    the pool offered to both banks."""
    mine = submit(enterprise_owner, product)
    theirs = submit(other_owner, mortgage_product, amount=Decimal("2000000"))
    demand = services.demand_submit(
        actor=other_owner,
        amount=Decimal("800000"),
        term_months=12,
        purpose="支付货款",
        password=PASSWORD,
    ).application
    assert demand is not None
    return {"mine": mine, "theirs": theirs, "demand": demand}


# ---------------------------------------------------------------------------------------------
# Applying to a product
# ---------------------------------------------------------------------------------------------
def test_apply_form_shows_eligibility_and_the_new_authorisation(
    product: LoanProduct, owner: Client, bank: Any
) -> None:
    response = owner.get(apply_url(product))
    assert response.status_code == 200
    page = html(response)
    assert "满足全部 1 项条件" in block(page, "eligibility-summary")
    plan = block(page, "authorization-plan")
    assert bank.name in plan
    assert "新授权：范围「信用记录明细」，用途「贷款申请」" in plan
    assert "确认授权并提交申请" in page
    assert 'id="id_password"' in page
    # the product's terms next to the fields, the form starting at the smallest loan
    assert "额度 100,000.00–3,000,000.00 元" in page and "期限 6–36 个月" in page
    assert value_of(page, "id_amount") == "100000.00"
    assert value_of(page, "id_term_months") == "6"


def test_an_authorisation_in_force_is_reused_without_the_password(
    product: LoanProduct, owner: Client, enterprise_owner: User
) -> None:
    first = submit(enterprise_owner, product)
    granted = first.authorization
    assert granted is not None
    page = html(owner.get(apply_url(product)))
    plan = block(page, "authorization-plan")
    assert f"沿用已有授权 {granted.number}（信用记录明细" in plan and "无需再次授权" in plan
    assert 'id="id_password"' not in page
    assert "确认授权并提交申请" not in page and "提交申请" in page
    response = owner.post(apply_url(product), apply_form(password="", amount="200000"))
    assert response.status_code == 302
    second = LoanApplication.objects.exclude(pk=first.pk).get()
    assert (second.amount, second.authorization_id) == (Decimal("200000.00"), granted.pk)
    assert Authorization.objects.count() == 1


def test_a_wrong_password_keeps_what_was_typed(
    product: LoanProduct, owner: Client, enterprise_owner: User
) -> None:
    response = owner.post(
        apply_url(product),
        apply_form(amount="650000", purpose="采购芯片与元器件", password="not-my-password"),
    )
    assert response.status_code == 400
    page = html(response)
    assert errors_under(page, "id_password") == ["密码或验证码不正确"]
    assert "请重新输入登录密码（或动态验证码）以确认本次授权。" in page
    assert value_of(page, "id_amount") == "650000"
    assert value_of(page, "id_purpose") == "采购芯片与元器件"
    assert value_of(page, "id_password") is None  # a password is never sent back
    assert selected(page, "id_repayment_method") == ["interest_first"]
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_terms_out_of_range_are_named_under_their_field(
    product: LoanProduct, owner: Client
) -> None:
    response = owner.post(apply_url(product), apply_form(amount="50000000", term_months="48"))
    assert response.status_code == 400
    page = html(response)
    # the service stops at the first term it refuses
    assert errors_under(page, "id_amount") == ["申请金额应在 100000.00 至 3000000.00 元之间"]
    assert value_of(page, "id_term_months") == "48"
    # the form's own checks come first and keep the input as well
    empty = html(owner.post(apply_url(product), apply_form(purpose="", amount="abc")))
    assert errors_under(empty, "id_purpose") == ["该字段是必填项。"]
    assert errors_under(empty, "id_amount") == ["输入一个数字。"]
    assert value_of(empty, "id_amount") == "abc"
    assert LoanApplication.objects.count() == 0


def test_applying_leads_to_the_application_page(
    product: LoanProduct, owner: Client, enterprise: Enterprise, bank: Any
) -> None:
    response = owner.post(apply_url(product), apply_form(purpose="  支付货款  "))
    application = LoanApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(application)
    assert (application.enterprise_id, application.bank_id, application.status) == (
        enterprise.pk,
        bank.pk,
        "submitted",
    )
    assert (application.amount, application.term_months, application.purpose) == (
        Decimal("500000.00"),
        12,
        "支付货款",
    )
    grant = application.authorization
    assert grant is not None
    assert (grant.grantee_bank_id, grant.scope, grant.purpose) == (
        bank.pk,
        "records",
        "loan_application",
    )
    assert list(application.events.values_list("move", flat=True)) == ["submit"]

    shown = owner.get(response["Location"])
    page = html(shown)
    pickup = f"{timezone.localtime(application.pickup_due):%Y-%m-%d}"
    assert flash(shown) == [f"申请已提交，{bank.name}将在 {pickup} 前接单。"]
    assert application.number in page and "已提交" in page
    assert "500,000.00 元" in page and "12 个月" in page and "先息后本" in page
    assert grant.number in page
    levels = block(page, "service-levels")
    for stage, due in (
        ("接单", application.pickup_due),
        ("首次联系", application.contact_due),
        ("审批", application.decision_due),
    ):
        assert f"<span>{stage}</span>" in levels
        assert f"{timezone.localtime(due):%Y-%m-%d} 前" in levels
    assert "已超时" not in levels
    # the enterprise may withdraw, nothing else
    assert moves_shown(shown) == ["withdraw"]


def test_an_ineligible_enterprise_is_told_why_and_gets_no_form(
    bank_officer: User, credit_office: User, owner: Client
) -> None:
    old_only = publish(bank_officer, credit_office, "OLD", min_years=50)
    response = owner.get(apply_url(old_only))
    assert response.status_code == 200
    page = html(response)
    summary = block(page, "eligibility-summary")
    assert "alert-warning" in page
    assert "不满足" in summary and "成立年限不足 50 年" in summary
    assert "贵企业暂不满足该产品的准入条件，不能申请" in page
    assert 'id="authorization-plan"' not in page and 'id="id_password"' not in page
    assert 'name="purpose"' not in page
    # posting anyway changes nothing
    assert owner.post(apply_url(old_only), apply_form()).status_code == 400
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_a_member_sees_why_and_cannot_apply(
    product: LoanProduct, enterprise_member: User, login: Any
) -> None:
    client = login(enterprise_member)
    page = html(client.get(apply_url(product)))
    assert "只有企业的所有者或管理员可以提交贷款申请" in page
    assert 'name="purpose"' not in page
    assert 'id="eligibility-summary"' in page  # the summary is still useful to a member
    response = client.post(apply_url(product), apply_form())
    assert response.status_code == 400
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0
    # nor a demand
    page = html(client.get(DEMAND))
    assert "只有企业的所有者或管理员可以发布融资需求" in page and 'name="purpose"' not in page
    assert client.post(DEMAND, demand_form(step="confirm")).status_code == 400
    assert LoanApplication.objects.count() == 0


def test_joint_punishment_shows_the_blocked_page_and_is_fed_back(
    product: LoanProduct, owner: Client, enterprise: Enterprise
) -> None:
    record = serious_record(enterprise)
    # the product asks for no serious record: the page names the failing condition
    page = html(owner.get(apply_url(product)))
    assert "存在有效的失信被执行人或严重失信记录" in block(page, "eligibility-summary")
    # and the reason is said before anything is tried, on both forms
    for url in (apply_url(product), DEMAND):
        notice = block(html(owner.get(url)), "joint-punishment-notice")
        assert "存在有效的严重失信主体名单记录，依法实施联合惩戒，不能在线申请贷款。" in notice
    assert PunishmentFeedback.objects.count() == 0  # looking is not a refused submission
    response = owner.post(apply_url(product), apply_form())
    assert response.status_code == 403
    page = html(response)
    assert 'id="joint-punishment"' in page and "暂不能在线申请贷款" in page
    assert "存在有效的严重失信主体名单记录，依法实施联合惩戒，不能在线申请贷款。" in page
    assert "可以提出异议或申请信用修复" in page
    feedback = PunishmentFeedback.objects.get()
    assert (feedback.enterprise_id, feedback.context, feedback.records) == (
        enterprise.pk,
        "loan_application",
        [record.pk],
    )
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0
    # a demand is refused the same way
    blocked = owner.post(DEMAND, demand_form(step="confirm"))
    assert blocked.status_code == 403 and 'id="joint-punishment"' in html(blocked)
    assert list(PunishmentFeedback.objects.values_list("context", flat=True)) == [
        "financing_demand",
        "loan_application",
    ]
    assert LoanApplication.objects.count() == 0


def test_an_unlisted_product_cannot_be_applied_to(
    product: LoanProduct, owner: Client, bank_admin: User
) -> None:
    assert owner.get("/market/999999/apply/").status_code == 404
    products.product_move(actor=bank_admin, product_id=product.pk, move="suspend", reason="调整")
    assert owner.get(apply_url(product)).status_code == 404
    assert owner.post(apply_url(product), apply_form()).status_code == 404
    assert LoanApplication.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Financing demands
# ---------------------------------------------------------------------------------------------
def test_demand_preview_lists_the_banks_and_writes_nothing(
    product: LoanProduct, mortgage_product: LoanProduct, owner: Client, bank: Any, other_bank: Any
) -> None:
    empty = html(owner.get(DEMAND))
    assert "下一步：查看可接单银行" in empty and 'id="authorization-plan"' not in empty
    response = owner.post(DEMAND, demand_form(step="preview", password=""))
    assert response.status_code == 200
    page = html(response)
    plan = block(page, "authorization-plan")
    assert "将推送给 2 家银行" in page
    assert bank.name in plan and other_bank.name in plan
    assert "新授权：范围「信用记录明细」" in plan and "新授权：范围「信用画像」" in plan
    assert 'id="id_password"' in page and "确认授权并发布需求" in page
    assert "按修改后的需求重新查看" in page
    assert value_of(page, "id_amount") == "800000" and value_of(page, "id_purpose") == "支付货款"
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0
    # a preferred guarantee narrows the banks
    narrowed = html(owner.post(DEMAND, demand_form(step="preview", preferred_guarantee="mortgage")))
    plan = block(narrowed, "authorization-plan")
    assert "将推送给 1 家银行" in narrowed
    assert other_bank.name in plan and bank.name not in plan
    assert selected(narrowed, "id_preferred_guarantee") == ["mortgage"]
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_confirming_a_demand_creates_it_with_its_offers(
    product: LoanProduct,
    mortgage_product: LoanProduct,
    owner: Client,
    enterprise: Enterprise,
    bank: Any,
    other_bank: Any,
    other_officer: User,
    login: Any,
) -> None:
    response = owner.post(DEMAND, demand_form(step="confirm"))
    demand = LoanApplication.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(demand)
    assert (demand.kind, demand.status, demand.bank_id, demand.enterprise_id) == (
        "demand",
        "submitted",
        None,
        enterprise.pk,
    )
    assert demand.amount == Decimal("800000.00") and demand.purpose == "支付货款"
    offers = {o.bank_id: o for o in DemandOffer.objects.select_related("authorization")}
    assert set(offers) == {bank.pk, other_bank.pk}
    assert offers[bank.pk].products == [product.pk]
    assert offers[other_bank.pk].authorization.scope == "portrait"
    assert all(o.granted_for_demand for o in offers.values())
    assert all(o.authorization.purpose == "loan_application" for o in offers.values())

    shown = owner.get(response["Location"])
    assert flash(shown) == ["融资需求已推送给 2 家银行，请留意接单通知。"]
    page = html(shown)
    assert demand.number in page and "融资需求" in page
    offered = block(page, "demand-offers")
    assert bank.name in offered and other_bank.name in offered
    assert offers[bank.pk].authorization.number in offered

    # the first bank to accept takes it; the authorisation granted for the other one ends
    taken = login(other_officer).post(move(demand, "accept"), {})
    assert taken.status_code == 302
    demand.refresh_from_db()
    assert (demand.bank_id, demand.authorization_id, demand.officer_id) == (
        other_bank.pk,
        offers[other_bank.pk].authorization_id,
        other_officer.pk,
    )
    assert Authorization.objects.get(pk=offers[bank.pk].authorization_id).status == "revoked"
    assert Authorization.objects.get(pk=offers[other_bank.pk].authorization_id).status == "active"
    assert "已接单" in block(html(owner.get(detail(demand))), "demand-offers")


def test_demand_errors_keep_the_input(
    product: LoanProduct, owner: Client, enterprise_owner: User
) -> None:
    wrong = owner.post(DEMAND, demand_form(step="confirm", password="nope", amount="900000"))
    assert wrong.status_code == 400
    page = html(wrong)
    assert errors_under(page, "id_password") == ["密码或验证码不正确"]
    assert value_of(page, "id_amount") == "900000" and value_of(page, "id_purpose") == "支付货款"
    assert "将推送给 1 家银行" in page  # the banks are still shown next to the form
    missing = owner.post(DEMAND, demand_form(step="preview", purpose="", term_months="400"))
    assert missing.status_code == 400
    page = html(missing)
    assert errors_under(page, "id_purpose") == ["该字段是必填项。"]
    assert errors_under(page, "id_term_months") == ["确保该值小于或等于360。"]
    assert value_of(page, "id_amount") == "800000"
    assert 'id="authorization-plan"' not in page
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_a_demand_no_bank_fits_says_so_in_the_plan(product: LoanProduct, owner: Client) -> None:
    preview = html(owner.post(DEMAND, demand_form(step="preview", amount="50000000")))
    plan = block(preview, "authorization-plan")
    assert "将推送给 0 家银行" in preview
    assert "暂无银行的上架产品与该需求相符且贵企业满足准入条件" in plan
    assert 'value="confirm"' not in preview and 'id="id_password"' not in preview
    # confirming anyway is refused with the reason, the input kept
    refused = owner.post(DEMAND, demand_form(step="confirm", amount="50000000"))
    assert refused.status_code == 400
    page = html(refused)
    assert errors_under(page, "id_amount") == ["暂无符合条件的银行"]
    assert "请调整需求，或在金融产品超市查看各产品的准入条件" in page
    assert value_of(page, "id_amount") == "50000000"
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# The bank's queue
# ---------------------------------------------------------------------------------------------
def test_officers_see_their_bank_and_the_pool(
    queue: dict[str, LoanApplication],
    bank: Any,
    other_bank: Any,
    bank_officer: User,
    other_officer: User,
    login: Any,
) -> None:
    mine, theirs, demand = queue["mine"].number, queue["theirs"].number, queue["demand"].number
    officer = login(bank_officer)
    response = officer.get(LIST)
    assert numbers(response) == {mine, demand}
    page = html(response)
    assert "贷款申请受理" in page and "共 2 件" in page
    assert 'id="id_queue"' in page  # bank staff may pick their queue
    assert numbers(officer.get(LIST + "?queue=pool")) == {mine, demand}
    assert numbers(officer.get(LIST + "?queue=mine")) == set()
    assert numbers(login(other_officer).get(LIST)) == {theirs, demand}

    assert officer.post(move(queue["mine"], "accept"), {"accept-reason": ""}).status_code == 302
    assert numbers(officer.get(LIST + "?queue=pool")) == {demand}
    assert numbers(officer.get(LIST + "?queue=mine")) == {mine}
    # the demand is taken: it leaves the other bank's queue and its page
    taken = officer.post(move(queue["demand"], "accept"), {})
    assert taken.status_code == 302 and taken["Location"] == detail(queue["demand"])
    assert LoanApplication.objects.get(pk=queue["demand"].pk).bank_id == bank.pk
    # the other bank keeps the authorisation it already had (reused, not granted for this)
    offers = DemandOffer.objects.filter(application=queue["demand"])
    assert {(o.bank_id, o.granted_for_demand, o.authorization.status) for o in offers} == {
        (bank.pk, True, "active"),
        (other_bank.pk, False, "active"),
    }
    other = login(other_officer)
    assert numbers(other.get(LIST)) == {theirs}
    assert other.get(detail(queue["demand"])).status_code == 404
    assert numbers(officer.get(LIST + "?queue=mine")) == {mine, demand}


def test_the_list_filters(
    queue: dict[str, LoanApplication], bank_officer: User, login: Any
) -> None:
    mine, demand = queue["mine"], queue["demand"]
    officer = login(bank_officer)
    to_move(bank_officer, mine, "accept")
    assert numbers(officer.get(LIST + "?status=accepted")) == {mine.number}
    assert numbers(officer.get(LIST + "?status=submitted")) == {demand.number}
    assert numbers(officer.get(LIST + "?kind=demand")) == {demand.number}
    assert numbers(officer.get(LIST + "?kind=product")) == {mine.number}
    assert numbers(officer.get(LIST + f"?q={mine.number[-8:].lower()}")) == {mine.number}
    assert numbers(officer.get(LIST + "?q=另一家")) == {demand.number}  # the enterprise's name
    assert numbers(officer.get(LIST + "?overdue=on")) == set()
    past = timezone.now() - timedelta(days=1)
    LoanApplication.objects.filter(pk=demand.pk).update(pickup_due=past)
    response = officer.get(LIST + "?overdue=on")
    assert numbers(response) == {demand.number}
    assert "接单超时" in block(html(response), "application-list")
    # a value the form refuses lists nothing and says why
    bad = officer.get(LIST + "?status=nope")
    assert numbers(bad) == set()
    assert "没有符合条件的申请。" in html(bad)
    assert errors_under(html(bad), "id_status")


def test_paging_keeps_the_filters(
    product: LoanProduct, enterprise_owner: User, bank_officer: User, login: Any
) -> None:
    first = submit(enterprise_owner, product)
    fields = {
        f.attname: getattr(first, f.attname)
        for f in LoanApplication._meta.concrete_fields
        if f.attname not in {"id", "number"}
    }
    LoanApplication.objects.bulk_create(
        LoanApplication(**fields, number=f"DK20261120-P{i:07d}") for i in range(26)
    )
    officer = login(bank_officer)
    response = officer.get(LIST + "?kind=product&status=submitted")
    page = html(response)
    assert "共 27 件" in page and len(numbers(response)) == 25
    assert "?kind=product&amp;status=submitted&amp;page=2" in page
    second = officer.get(LIST + "?kind=product&status=submitted&page=2")
    assert len(numbers(second)) == 2
    assert "?kind=product&amp;status=submitted&amp;page=1" in html(second)


# ---------------------------------------------------------------------------------------------
# Handling one application
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def application(product: LoanProduct, enterprise_owner: User) -> LoanApplication:
    return submit(enterprise_owner, product)


def test_each_side_sees_only_the_moves_it_may_make(
    application: LoanApplication,
    owner: Client,
    bank: Any,
    bank_officer: User,
    bank_admin: User,
    credit_office: User,
    login: Any,
) -> None:
    officer = login(bank_officer)
    assert moves_shown(officer.get(detail(application))) == ["accept"]
    assert moves_shown(owner.get(detail(application))) == ["withdraw"]
    assert moves_shown(login(credit_office).get(detail(application))) == []
    to_move(bank_officer, application, "accept")
    assert moves_shown(officer.get(detail(application))) == ["contact", "start_review", "reject"]
    assert moves_shown(login(bank_admin).get(detail(application))) == [
        "contact",
        "start_review",
        "reject",
    ]
    assert moves_shown(owner.get(detail(application))) == ["withdraw"]
    # a colleague who did not accept it may not handle it
    colleague = UserFactory.create(email="colleague@example.com")
    make_bank_member(colleague, bank, "officer")
    assert moves_shown(login(colleague).get(detail(application))) == []
    # withdrawing asks again before it goes
    assert "return confirm(" in block(html(owner.get(detail(application))), "move-withdraw")


def test_accepting_takes_the_application(
    application: LoanApplication, bank_officer: User, login: Any
) -> None:
    officer = login(bank_officer)
    response = officer.post(move(application, "accept"), {"accept-reason": "本周内走访"})
    assert response.status_code == 302 and response["Location"] == detail(application)
    application.refresh_from_db()
    assert (application.status, application.officer_id) == ("accepted", bank_officer.pk)
    assert application.accepted_at is not None
    event = application.events.get(move="accept")
    assert (event.old_status, event.new_status, event.actor_id, event.reason) == (
        "submitted",
        "accepted",
        bank_officer.pk,
        "本周内走访",
    )
    shown = officer.get(detail(application))
    assert flash(shown) == ["已接单，请在时限内联系企业。"]
    page = html(shown)
    assert "已接单" in page and bank_officer.get_full_name() in page
    assert "完成" in block(page, "service-levels")
    assert "本周内走访" in block(page, "application-events")
    # an unknown move goes back to the page and changes nothing
    assert officer.post(move(application, "explode"), {}).status_code == 302
    assert officer.get(move(application, "accept")).status_code == 405


def test_approving_more_than_was_asked_is_refused_under_the_amount(
    application: LoanApplication, bank_officer: User, login: Any
) -> None:
    to_move(bank_officer, application, "accept")
    to_move(bank_officer, application, "start_review")
    officer = login(bank_officer)
    initial = html(officer.get(detail(application)))
    assert value_of(initial, "id_approve-approved_amount") == "500000.00"
    assert value_of(initial, "id_approve-approved_term_months") == "12"
    too_much = {
        "approve-approved_amount": "600000",
        "approve-approved_rate": "3.6",
        "approve-approved_term_months": "12",
        "approve-approved_repayment_method": "interest_first",
        "approve-reason": "经营稳定",
    }
    response = officer.post(move(application, "approve"), too_much)
    assert response.status_code == 400
    page = html(response)
    assert errors_under(page, "id_approve-approved_amount") == ["数值超出允许范围"]
    assert value_of(page, "id_approve-approved_amount") == "600000"
    assert value_of(page, "id_approve-approved_rate") == "3.6"
    assert value_of(page, "id_approve-reason") == "经营稳定"
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == ("under_review", None)

    response = officer.post(
        move(application, "approve"), too_much | {"approve-approved_amount": "450000"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.approved_amount, application.approved_rate) == (
        "approved",
        Decimal("450000.00"),
        Decimal("3.6000"),
    )
    page = html(officer.get(detail(application)))
    assert "450,000.00 元，年利率 3.6%" in page and "%，12 个月" in page


def test_rejecting_needs_a_reason(
    application: LoanApplication, bank_officer: User, owner: Client, login: Any
) -> None:
    to_move(bank_officer, application, "accept")
    officer = login(bank_officer)
    response = officer.post(move(application, "reject"), {"reject-reason": "资料缺失"})
    assert response.status_code == 400
    page = html(response)
    assert errors_under(page, "id_reject-reject_reason") == ["该字段是必填项。"]
    assert value_of(page, "id_reject-reason") == "资料缺失"
    application.refresh_from_db()
    assert application.status == "accepted"

    response = officer.post(
        move(application, "reject"),
        {"reject-reject_reason": "materials", "reject-reason": "缺少近两年财务报表"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.reject_reason, application.reject_note) == (
        "rejected",
        "materials",
        "缺少近两年财务报表",
    )
    assert application.first_contact_at is not None
    page = html(owner.get(detail(application)))
    assert "资料不全或不实：缺少近两年财务报表" in page and "已拒绝" in page
    assert moves_shown(owner.get(detail(application))) == []


def test_disbursing(
    application: LoanApplication, bank_officer: User, owner: Client, login: Any
) -> None:
    to_move(bank_officer, application, "accept")
    to_move(bank_officer, application, "start_review")
    to_move(
        bank_officer,
        application,
        "approve",
        approved_amount=Decimal("450000"),
        approved_rate=Decimal("3.6"),
        approved_term_months=12,
    )
    officer = login(bank_officer)
    response = officer.get(detail(application))
    assert moves_shown(response) == ["disburse"]
    page = html(response)
    assert value_of(page, "id_disburse-disbursed_amount") == "450000.00"
    assert selected(page, "id_disburse-disbursed_guarantee_method") == ["credit"]

    data = {
        "disburse-disbursed_amount": "450000",
        "disburse-disbursed_rate": "3.6",
        "disburse-disbursed_on": "2026-11-20",
        "disburse-contract_number": "",
        "disburse-disbursed_guarantee_method": "credit",
    }
    missing = officer.post(move(application, "disburse"), data)
    assert missing.status_code == 400
    assert errors_under(html(missing), "id_disburse-contract_number") == ["该字段是必填项。"]
    response = officer.post(
        move(application, "disburse"), data | {"disburse-contract_number": "HT-2026-001"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.contract_number, application.disbursed_on) == (
        "disbursed",
        "HT-2026-001",
        date(2026, 11, 20),
    )
    assert (application.disbursed_guarantee_method, application.first_loan) == ("credit", True)
    page = html(owner.get(detail(application)))
    assert "450,000.00 元，2026-11-20，年利率 3.6%" in page and "HT-2026-001" in page


def test_the_disbursement_date_is_prefilled(
    application: LoanApplication, bank_officer: User, login: Any
) -> None:
    to_move(bank_officer, application, "accept")
    to_move(bank_officer, application, "start_review")
    to_move(
        bank_officer,
        application,
        "approve",
        approved_amount=Decimal("450000"),
        approved_rate=Decimal("3.6"),
        approved_term_months=12,
    )
    page = html(login(bank_officer).get(detail(application)))
    assert value_of(page, "id_disburse-disbursed_on") == f"{timezone.localdate():%Y-%m-%d}"


def test_a_move_someone_else_made_first_is_explained(
    application: LoanApplication, bank_officer: User, bank_admin: User, login: Any
) -> None:
    admin = login(bank_admin)
    assert moves_shown(admin.get(detail(application))) == ["accept"]  # the admin's open page
    to_move(bank_officer, application, "accept")
    response = admin.post(move(application, "accept"), {})
    assert response.status_code == 409
    assert "申请状态为「已接单」，不能执行该操作。" in html(response)
    application.refresh_from_db()
    assert application.officer_id == bank_officer.pk


def test_a_refused_move_keeps_the_status(
    application: LoanApplication, bank_officer: User, bank_admin: User, login: Any
) -> None:
    """Nothing changes when a move is refused."""
    to_move(bank_officer, application, "accept")
    response = login(bank_admin).post(move(application, "accept"), {})
    assert response.status_code == 409
    application.refresh_from_db()
    assert (application.status, application.officer_id) == ("accepted", bank_officer.pk)
    assert ApplicationEvent.objects.filter(application=application, move="accept").count() == 1


def test_withdrawing_from_the_page(
    application: LoanApplication, owner: Client, enterprise_owner: User
) -> None:
    response = owner.post(move(application, "withdraw"), {"withdraw-reason": "已从他行获得贷款"})
    assert response.status_code == 302 and response["Location"] == detail(application)
    application.refresh_from_db()
    assert application.status == "withdrawn"
    shown = owner.get(detail(application))
    assert flash(shown) == ["申请已撤回。"]
    assert "已从他行获得贷款" in block(html(shown), "application-events")


def test_other_banks_and_enterprises_get_404(
    application: LoanApplication,
    other_officer: User,
    other_owner: User,
    login: Any,
) -> None:
    for user in (other_officer, other_owner):
        client = login(user)
        assert client.get(detail(application)).status_code == 404
        assert client.post(move(application, "accept"), {}).status_code == 404
        assert client.post(move(application, "withdraw"), {}).status_code == 404
        assert application.number not in html(client.get(LIST))
    application.refresh_from_db()
    assert (application.status, application.officer_id) == ("submitted", None)


# ---------------------------------------------------------------------------------------------
# Exports and the credit office
# ---------------------------------------------------------------------------------------------
def test_bank_admins_export_their_queue_and_officers_get_the_page(
    queue: dict[str, LoanApplication],
    bank: Any,
    bank_admin: User,
    bank_officer: User,
    login: Any,
) -> None:
    mine = queue["mine"]
    lines = csv_lines(login(bank_admin).get(LIST + "?export=csv&kind=product"))
    assert lines[0] == CSV_HEADER
    assert len(lines) == 2
    row = dict(zip(CSV_HEADER, lines[1], strict=True))
    assert (row["number"], row["kind"], row["enterprise_uscc"], row["bank"]) == (
        mine.number,
        "product",
        mine.enterprise.uscc,
        bank.name,
    )
    assert (row["amount"], row["term_months"], row["status"], row["overdue"]) == (
        "500000.00",
        "12",
        "submitted",
        "",
    )
    assert datetime.fromisoformat(row["pickup_due"]) == mine.pickup_due
    assert "导出 CSV" in html(login(bank_admin).get(LIST))

    officer = login(bank_officer).get(LIST + "?export=csv")
    assert officer.status_code == 200 and officer["Content-Type"].startswith("text/html")
    assert "导出 CSV" not in html(officer)


def test_the_credit_office_sees_everything_and_the_punishments(
    queue: dict[str, LoanApplication],
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: User,
    credit_office: User,
    login: Any,
) -> None:
    office = login(credit_office)
    response = office.get(LIST)
    assert numbers(response) == {a.number for a in queue.values()}
    page = html(response)
    assert "联合惩戒反馈" in page and 'id="id_queue"' not in page
    lines = csv_lines(office.get(LIST + "?export=csv"))
    assert lines[0] == CSV_HEADER
    assert {line[0] for line in lines[1:]} == {a.number for a in queue.values()}
    assert moves_shown(office.get(detail(queue["mine"]))) == []
    # the office also sees where a demand went
    assert 'id="demand-offers"' in html(office.get(detail(queue["demand"])))

    serious_record(enterprise)
    services.application_submit(
        actor=enterprise_owner,
        product_id=product.pk,
        amount=Decimal("500000"),
        term_months=12,
        repayment_method="interest_first",
        purpose="采购原材料",
        password=PASSWORD,
    )
    feedback = PunishmentFeedback.objects.get()
    page = html(office.get(PUNISHMENTS))
    assert enterprise.name in page and feedback.detail in page and "申请贷款产品" in page
    assert "共 1 条" in page
    assert enterprise.name not in html(office.get(PUNISHMENTS + "?q=另一家"))
    assert enterprise.name in html(office.get(PUNISHMENTS + f"?q={enterprise.uscc}"))
    lines = csv_lines(office.get(PUNISHMENTS + "?export=csv"))
    assert lines[0] == ["at", "enterprise_uscc", "enterprise", "context", "records", "detail"]
    assert lines[1][1:4] == [enterprise.uscc, enterprise.name, "loan_application"]
    assert lines[1][5] == feedback.detail


def test_enterprises_see_their_own_list(
    queue: dict[str, LoanApplication], owner: Client, enterprise_member: User, login: Any
) -> None:
    response = owner.get(LIST)
    assert numbers(response) == {queue["mine"].number}
    page = html(response)
    assert "我的贷款" in page and "发布融资需求" in page and "去产品超市申请" in page
    assert "导出 CSV" not in page and 'id="id_queue"' not in page
    member = html(login(enterprise_member).get(LIST))
    # a member cannot post a demand: no button (the menu still leads to the explanation)
    assert queue["mine"].number in member
    assert 'class="btn btn-primary" href="/loans/demands/new/"' not in member
    assert 'class="btn btn-primary" href="/loans/demands/new/"' in page


# ---------------------------------------------------------------------------------------------
# On a phone: lists and cards, no wide tables
# ---------------------------------------------------------------------------------------------
def test_pages_are_lists_and_cards(
    application: LoanApplication,
    product: LoanProduct,
    owner: Client,
    bank_officer: User,
    login: Any,
) -> None:
    officer = login(bank_officer)
    listing = html(officer.get(LIST))
    assert '<div class="list-group" id="application-list">' in listing
    page = html(officer.get(detail(application)))
    assert 'id="service-levels"' in page and 'id="move-accept"' in page
    assert 'id="application-events"' in page
    form = html(owner.get(f"/market/{product.pk}/apply/"))
    assert 'id="authorization-plan"' in form and 'id="eligibility-summary"' in form
    demand = html(owner.post(DEMAND, demand_form(step="preview")))
    assert 'id="authorization-plan"' in demand
    for markup in (listing, page, form, demand):
        assert "<table" not in markup
