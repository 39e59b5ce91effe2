from decimal import Decimal

import pytest

from xinyidai.core.templatetags.money import pct, yuan


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("800000"), "800,000.00"),
        (Decimal("1234567.8"), "1,234,567.80"),
        (Decimal("3E+6"), "3,000,000.00"),
        ("0.5", "0.50"),
        (None, ""),
        ("x", ""),
    ],
)
def test_yuan(value: object, shown: str) -> None:
    assert yuan(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("3.6000"), "3.6"),
        (Decimal("4.0000"), "4"),
        (Decimal("3.4512"), "3.4512"),
        (None, ""),
    ],
)
def test_pct(value: object, shown: str) -> None:
    assert pct(value) == shown
