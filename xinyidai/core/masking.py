"""Masked display of resident ID numbers and phone numbers (身份证号、手机号脱敏).

Every page, JSON answer, CSV export and admin screen shows personal numbers only through these
helpers; the clear values exist in Python memory but never reach a user. Templates use the
`mask_id` / `mask_phone` filters (`{% load masking %}`), serializers `MaskedIdField` /
`MaskedPhoneField` from `xinyidai.api.fields`.
"""

from __future__ import annotations

import re
import unicodedata

RESIDENT_ID_LENGTH = 18

_SPACES_RE = re.compile(r"\s+")
_PHONE_STRIP_RE = re.compile(r"[\s\-()]+")


def mask(raw: str | None) -> str:
    """An 18-digit resident ID keeps its first 3 and last 4 characters (441***********123X);
    anything else keeps only its first and last character."""
    if not raw:
        return ""
    number = _SPACES_RE.sub("", unicodedata.normalize("NFKC", raw)).upper()
    n = len(number)
    if n == RESIDENT_ID_LENGTH:
        return number[:3] + "*" * 11 + number[-4:]
    if n <= 2:
        return "*" * n
    return number[0] + "*" * (n - 2) + number[-1]


def mask_phone(raw: str | None) -> str:
    """A mainland mobile number keeps its first 3 and last 4 digits (138****5678, without any
    +86 prefix); any other number keeps only its last 4 digits."""
    if not raw:
        return ""
    phone = _PHONE_STRIP_RE.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix) :]
    if len(phone) == 11 and phone.isdigit() and phone[0] == "1":
        return phone[:3] + "****" + phone[-4:]
    if len(phone) <= 4:
        # Too short to leave anything visible without showing all of it.
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]


# the legal-form and place words a firm's name may show: "东莞市**科技有限公司"
_FIRM_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "合伙企业",
    "个人独资企业",
    "分公司",
    "厂",
    "店",
)
_PLACE_PREFIXES = ("广东省东莞市", "东莞市", "广东省", "东莞")


def mask_firm_name(name: str | None) -> str:
    """A firm's name without what identifies it: the place word in front and the last two
    characters of the trade before the legal form stay ("东莞市长安精密模具有限公司" →
    "东莞市****模具有限公司"); anything else keeps its first and last character."""
    if not name:
        return ""
    name = name.strip()
    prefix = next((p for p in _PLACE_PREFIXES if name.startswith(p)), "")
    rest = name[len(prefix) :]
    suffix = next((s for s in _FIRM_SUFFIXES if rest.endswith(s) and len(rest) > len(s)), "")
    core = rest[: len(rest) - len(suffix)] if suffix else rest
    if suffix and len(core) > 2:
        return prefix + "*" * (len(core) - 2) + core[-2:] + suffix
    if len(core) <= 2:
        return prefix + "*" * len(core) + suffix
    return prefix + core[0] + "*" * (len(core) - 2) + core[-1] + suffix
