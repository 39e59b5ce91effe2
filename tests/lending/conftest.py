"""A published product to apply to."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from banks import products
from banks.models import LoanProduct

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
