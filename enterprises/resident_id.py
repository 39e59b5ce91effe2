"""18-digit PRC resident identity number (GB 11643-1999); masking is in xinyidai.core.masking."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, timedelta

from django.utils.translation import gettext as _

# Masking lives with the other display helpers; re-exported so `resident_id.mask` keeps working.
from xinyidai.core.masking import mask as mask
from xinyidai.core.masking import mask_phone as mask_phone

LENGTH = 18
WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_DIGITS = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)

_DIGITS = frozenset("0123456789")
_SPACES_RE = re.compile(r"\s+")


def normalize(raw: str) -> str:
    return _SPACES_RE.sub("", unicodedata.normalize("NFKC", raw)).upper()


def check_digit(first17: str) -> str:
    if len(first17) != 17 or not all(ch in _DIGITS for ch in first17):
        raise ValueError("check_digit needs exactly 17 digits")
    total = sum(int(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_DIGITS[total % 11]


def _birth_date(number: str) -> date | None:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if not EARLIEST_BIRTH <= born <= date.today():
        return None
    return born


def validate(raw: str) -> str:
    number = normalize(raw or "")
    if len(number) != LENGTH:
        raise ValueError(_("身份证号码应为18位，实际为%(length)d位") % {"length": len(number)})
    if not all(ch in _DIGITS for ch in number[:17]) or number[17] not in _DIGITS | {"X"}:
        raise ValueError(_("身份证号码前17位必须是数字，最后一位必须是数字或X"))
    if _birth_date(number) is None:
        raise ValueError(_("身份证号码中的出生日期“%(date)s”无效") % {"date": number[6:14]})
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise ValueError(
            _("身份证号码校验位错误：第18位应为“%(expected)s”，实际为“%(actual)s”")
            % {"expected": expected, "actual": number[17]}
        )
    return number


def is_valid(raw: str | None) -> bool:
    if not raw:
        return False
    try:
        validate(raw)
    except ValueError:
        return False
    return True


def birth_date(raw: str) -> date:
    number = validate(raw)
    born = _birth_date(number)
    if born is None:  # unreachable: validate() has checked it
        raise ValueError(number[6:14])
    return born


def generate(
    rng: random.Random,
    *,
    region: str = "441900",
    born_from: date = date(1950, 1, 1),
    born_to: date = date(2004, 12, 31),
) -> str:
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be 6 digits, got {region!r}")
    if born_to < born_from:
        raise ValueError("born_to is before born_from")
    born = born_from + timedelta(days=rng.randrange((born_to - born_from).days + 1))
    first17 = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_digit(first17)
