from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enterprises import resident_id

# Hand check of 44190019900307123?:
#   digits   4  4  1  9  0  0  1  9  9  0  0  3  0  7  1  2  3
#   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
#   products 28+36+10+45+0+0+2+9+54+0+0+27+0+35+8+8+6 = 268
#   268 mod 11 = 4 (11*24 = 264); "10X98765432"[4] = "8"
VALID = "441900199003071238"


def with_check(first17: str) -> str:
    return first17 + resident_id.check_digit(first17)


def test_hand_computed_check_digit() -> None:
    assert resident_id.check_digit(VALID[:17]) == "8"
    assert resident_id.validate(VALID) == VALID


def test_x_check_digit() -> None:
    # The standard's own example: Σ = 167, 167 mod 11 = 2 -> "X".
    assert resident_id.check_digit("11010519491231002") == "X"
    assert resident_id.validate("11010519491231002x") == "11010519491231002X"
    assert resident_id.is_valid("110105 19491231 002X")


def test_normalise_full_width_and_spaces() -> None:
    assert resident_id.normalize("４４１９００ １９９００３０７ １２３８") == VALID
    assert resident_id.validate(" 4419 0019 9003 0712 38 ") == VALID


def test_check_digit_rejects_non_digits() -> None:
    with pytest.raises(ValueError):
        resident_id.check_digit("4419001990030712")
    with pytest.raises(ValueError):
        resident_id.check_digit("4419001990030712A")


def test_wrong_length() -> None:
    with pytest.raises(ValueError, match="18位") as excinfo:
        resident_id.validate("44190019900307123")
    assert "17" in str(excinfo.value)


def test_non_digit() -> None:
    with pytest.raises(ValueError, match="数字"):
        resident_id.validate("4419001990030712A8")
    with pytest.raises(ValueError, match="数字"):
        resident_id.validate("44190019900307123Y")


@pytest.mark.parametrize(
    "birth",
    ["19900230", "19901301", "19900001", "18991231", "20000431", "19010229"],
)
def test_bad_birth_dates(birth: str) -> None:
    number = with_check("441900" + birth + "123")
    with pytest.raises(ValueError, match="出生日期") as excinfo:
        resident_id.validate(number)
    assert birth in str(excinfo.value)
    assert not resident_id.is_valid(number)


def test_future_birth_date() -> None:
    tomorrow = date.today() + timedelta(days=1)
    number = with_check(f"441900{tomorrow:%Y%m%d}123")
    with pytest.raises(ValueError, match="出生日期"):
        resident_id.validate(number)


def test_leap_day_accepted() -> None:
    assert resident_id.is_valid(with_check("44190020000229123"))


def test_wrong_check_digit_names_expected() -> None:
    with pytest.raises(ValueError) as excinfo:
        resident_id.validate(VALID[:17] + "9")
    message = str(excinfo.value)
    assert "“8”" in message
    assert "“9”" in message


def test_is_valid_handles_empty() -> None:
    assert not resident_id.is_valid(None)
    assert not resident_id.is_valid("")


def test_birth_date() -> None:
    assert resident_id.birth_date(VALID) == date(1990, 3, 7)


def test_mask() -> None:
    assert resident_id.mask(VALID) == "441***********1238"
    assert resident_id.mask("11010519491231002x") == "110***********002X"
    assert len(resident_id.mask(VALID)) == 18
    assert resident_id.mask(None) == ""
    assert resident_id.mask("") == ""
    assert resident_id.mask("12345") == "1***5"
    assert resident_id.mask("441900900307123") == "4*************3"
    assert resident_id.mask("12") == "**"


def test_mask_phone() -> None:
    assert resident_id.mask_phone("13812341234") == "138****1234"
    assert resident_id.mask_phone("138 1234 1234") == "138****1234"
    assert resident_id.mask_phone("+86 138-1234-1234") == "138****1234"
    assert resident_id.mask_phone("0769-22123456") == "********3456"
    assert resident_id.mask_phone("12345") == "*2345"
    assert resident_id.mask_phone("110") == "***"
    assert resident_id.mask_phone(None) == ""
    assert resident_id.mask_phone("") == ""


def test_generate_defaults() -> None:
    number = resident_id.generate(random.Random(0))
    assert number.startswith("441900")
    assert resident_id.is_valid(number)


def test_generate_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError):
        resident_id.generate(rng, region="4419")
    with pytest.raises(ValueError):
        resident_id.generate(rng, born_from=date(2000, 1, 2), born_to=date(2000, 1, 1))


@given(
    rng=st.randoms(use_true_random=False),
    region=st.text(alphabet="0123456789", min_size=6, max_size=6),
    born_from=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    span=st.integers(min_value=0, max_value=20000),
)
def test_generated_ids_are_valid(
    rng: random.Random, region: str, born_from: date, span: int
) -> None:
    born_to = min(born_from + timedelta(days=span), date.today())
    number = resident_id.generate(rng, region=region, born_from=born_from, born_to=born_to)
    assert resident_id.validate(number) == number
    assert number[:6] == region
    assert born_from <= resident_id.birth_date(number) <= born_to
    assert resident_id.mask(number) == number[:3] + "*" * 11 + number[-4:]
