"""A published product to apply to; a second bank with its own staff and product, and a
financing demand offered to both."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from banks import products
from banks.models import BankRole, LoanProduct
from lending import services
from lending.models import LoanApplication
from tests.factories import PASSWORD, UserFactory, make_bank_member
from xinyidai.core.models import User

TERMS: dict[str, Any] = {
    "name": "科创信用贷",
    "kind": "credit",
    "guarantee_methods": ["credit"],
    "amount_min": Decimal("100000"),
    "amount_max": Decimal("3000000"),
    "rate_min": Decimal("3.45"),
    "rate_max": Decimal("4.2"),
    "term_min": 6,
    "term_max": 36,
    "repayment_methods": ["interest_first", "equal_instalment"],
    "required_scope": "records",
}


@pytest.fixture
def product(bank_officer: Any, credit_office: Any) -> LoanProduct:
    p = products.product_create(actor=bank_officer, code="KC-01", terms=TERMS)
    products.product_move(actor=bank_officer, product_id=p.pk, move="submit")
    return products.product_move(actor=credit_office, product_id=p.pk, move="publish")


# ---------------------------------------------------------------------------------------------
# Financing demands (抢单): a second bank with its own staff and listed product
# ---------------------------------------------------------------------------------------------
def publish(staff: Any, credit_office: Any, code: str, **terms: Any) -> LoanProduct:
    """A product of `staff`'s bank on TERMS (with `terms` over them), reviewed and listed."""
    p = products.product_create(actor=staff, code=code, terms={**TERMS, **terms})
    products.product_move(actor=staff, product_id=p.pk, move="submit")
    return products.product_move(actor=credit_office, product_id=p.pk, move="publish")


@pytest.fixture
def other_bank_officer(other_bank: Any) -> User:
    user = UserFactory.create(email="officer@other-bank.cn")
    make_bank_member(user, other_bank, BankRole.OFFICER)
    return user


@pytest.fixture
def other_bank_admin(other_bank: Any) -> User:
    user = UserFactory.create(email="admin@other-bank.cn")
    make_bank_member(user, other_bank, BankRole.ADMIN)
    return user


@pytest.fixture
def other_product(other_bank_officer: Any, credit_office: Any) -> LoanProduct:
    """另一家银行's product: the same ranges as `product`, secured by mortgage or credit, and
    needing only the portrait scope."""
    return publish(
        other_bank_officer,
        credit_office,
        "DY-01",
        name="经营抵押贷",
        guarantee_methods=["mortgage", "credit"],
        required_scope="portrait",
    )


def submit_demand(owner: Any, **extra: Any) -> LoanApplication:
    """A financing demand of 500 000 yuan over 12 months that both `product` and
    `other_product` fit, confirmed with the password."""
    fields: dict[str, Any] = {
        "actor": owner,
        "amount": Decimal("500000"),
        "term_months": 12,
        "purpose": "购置生产设备",
        "password": PASSWORD,
    }
    result = services.demand_submit(**(fields | extra))
    assert result.application is not None, result.blocked
    return result.application
