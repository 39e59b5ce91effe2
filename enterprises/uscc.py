"""Unified social credit code (统一社会信用代码), GB 32100-2015.

Layout: 1 registering department, 2 entity type, 3-8 region (GB/T 2260),
9-17 organisation code (GB 11714: 8 characters + check), 18 check character.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
VALUES: dict[str, int] = {ch: i for i, ch in enumerate(CHARSET)}
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11714 values letters by their place in the full alphabet (A=10 … Z=35), not by CHARSET.
ORG_VALUES: dict[str, int] = {
    **{str(d): d for d in range(10)},
    **{chr(ord("A") + i): 10 + i for i in range(26)},
}

DEPARTMENT_LABELS: dict[str, str] = {
    "1": gettext_noop("机构编制"),
    "2": gettext_noop("外交"),
    "3": gettext_noop("司法行政"),
    "4": gettext_noop("文化"),
    "5": gettext_noop("民政"),
    "6": gettext_noop("旅游"),
    "7": gettext_noop("宗教"),
    "8": gettext_noop("工会"),
    "9": gettext_noop("市场监管"),
    "A": gettext_noop("中央军委改革和编制办公室"),
    "N": gettext_noop("农业"),
    "Y": gettext_noop("其他"),
}

# Table 1 of GB 32100-2015 with its amendment (A, N). "54" is the code the civil-affairs
# ministry assigns to 村民委员会/居民委员会 (基层群众性自治组织特别法人); real codes carry it.
ENTITY_TYPE_LABELS: dict[str, dict[str, str]] = {
    "1": {
        "1": gettext_noop("机关"),
        "2": gettext_noop("事业单位"),
        "3": gettext_noop("中央编办直接管理机构编制的群众团体"),
        "9": gettext_noop("其他"),
    },
    "2": {"1": gettext_noop("外国常驻新闻机构"), "9": gettext_noop("其他")},
    "3": {
        "1": gettext_noop("律师执业机构"),
        "2": gettext_noop("公证处"),
        "3": gettext_noop("基层法律服务所"),
        "4": gettext_noop("司法鉴定机构"),
        "5": gettext_noop("仲裁委员会"),
        "9": gettext_noop("其他"),
    },
    "4": {"1": gettext_noop("外国在华文化中心"), "9": gettext_noop("其他")},
    "5": {
        "1": gettext_noop("社会团体"),
        "2": gettext_noop("民办非企业单位"),
        "3": gettext_noop("基金会"),
        "4": gettext_noop("基层群众性自治组织"),
        "9": gettext_noop("其他"),
    },
    "6": {
        "1": gettext_noop("外国旅游部门常驻代表机构"),
        "2": gettext_noop("港澳台地区旅游部门常驻内地（大陆）代表机构"),
        "9": gettext_noop("其他"),
    },
    "7": {
        "1": gettext_noop("宗教活动场所"),
        "2": gettext_noop("宗教院校"),
        "9": gettext_noop("其他"),
    },
    "8": {"1": gettext_noop("基层工会"), "9": gettext_noop("其他")},
    "9": {
        "1": gettext_noop("企业"),
        "2": gettext_noop("个体工商户"),
        "3": gettext_noop("农民专业合作社"),
    },
    "A": {"1": gettext_noop("军队事业单位"), "9": gettext_noop("其他")},
    "N": {
        "1": gettext_noop("组级集体经济组织"),
        "2": gettext_noop("村级集体经济组织"),
        "3": gettext_noop("乡镇级集体经济组织"),
        "9": gettext_noop("其他"),
    },
    "Y": {"1": gettext_noop("其他")},
}

DEPARTMENTS = frozenset(DEPARTMENT_LABELS)

_DIGITS = frozenset("0123456789")
# Whitespace (incl. U+3000, which NFKC already maps to a space) and dash-like characters
# people paste from Word or web pages. NFKC maps full-width '－' to '-'.
_STRIP_RE = re.compile(r"[\s\-\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]+")


def normalize(raw: str) -> str:
    return _STRIP_RE.sub("", unicodedata.normalize("NFKC", raw)).upper()


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.position is not None:
            data["position"] = self.position
        return data


@dataclass(frozen=True)
class USCCResult:
    valid: bool
    normalized: str | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "normalized": self.normalized,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }


def check_character(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("check_character needs exactly 17 characters")
    total = sum(VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def organization_check_character(org8: str) -> str:
    if len(org8) != 8:
        raise ValueError("organization_check_character needs exactly 8 characters")
    total = sum(ORG_VALUES[ch] * w for ch, w in zip(org8, ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    if c9 == 10:
        return "X"
    if c9 == 11:
        return "0"
    return str(c9)


def entity_type(code: str) -> tuple[str, str]:
    """(department label, entity type label) of a normalised code; ValueError if unknown."""
    if len(code) < 2:
        raise ValueError("code too short")
    department, kind = code[0], code[1]
    if department not in DEPARTMENT_LABELS:
        raise ValueError(f"unknown department {department!r}")
    types = ENTITY_TYPE_LABELS[department]
    if kind not in types:
        raise ValueError(f"unknown entity type {kind!r} for department {department!r}")
    return _(DEPARTMENT_LABELS[department]), _(types[kind])


def check(raw: str | None) -> USCCResult:
    code = normalize(raw) if raw else ""
    if not code:
        return USCCResult(False, None, [Problem("empty", _("请输入统一社会信用代码"))], [])

    errors: list[Problem] = []
    warnings: list[Problem] = []

    if len(code) != LENGTH:
        errors.append(
            Problem(
                "length",
                _("长度应为18位，实际为%(length)d位") % {"length": len(code)},
            )
        )

    illegal = next(((i, ch) for i, ch in enumerate(code) if ch not in VALUES), None)
    if illegal is not None:
        index, char = illegal
        errors.append(
            Problem(
                "illegal_character",
                _(
                    "第%(position)d位字符“%(char)s”不合法：统一社会信用代码只使用数字和"
                    "除I、O、S、V、Z以外的大写字母"
                )
                % {"position": index + 1, "char": char},
                index + 1,
            )
        )

    department = code[0]
    if department in VALUES and department not in DEPARTMENTS:
        errors.append(
            Problem(
                "department",
                _("第1位登记管理部门代码“%(char)s”无效，应为1-9、A、N或Y") % {"char": department},
                1,
            )
        )
    elif department in DEPARTMENTS and len(code) >= 2:
        kind = code[1]
        allowed = ENTITY_TYPE_LABELS[department]
        if kind in VALUES and kind not in allowed:
            params = {
                "char": kind,
                "department": _(DEPARTMENT_LABELS[department]),
                "allowed": _("、").join(allowed),
            }
            if len(allowed) == 1:
                message = _(
                    "第2位机构类别代码“%(char)s”对登记管理部门“%(department)s”无效，应为%(allowed)s"
                )
            else:
                message = _(
                    "第2位机构类别代码“%(char)s”对登记管理部门“%(department)s”无效，"
                    "应为%(allowed)s之一"
                )
            errors.append(Problem("entity_type", message % params, 2))

    region = code[2:8]
    bad_region = next(
        (i for i, ch in enumerate(region, start=3) if ch in VALUES and ch not in _DIGITS), None
    )
    if bad_region is not None:
        errors.append(
            Problem(
                "region",
                _("第3-8位登记管理机关行政区划码应为6位数字，第%(position)d位为“%(char)s”")
                % {"position": bad_region, "char": code[bad_region - 1]},
                bad_region,
            )
        )

    if len(code) == LENGTH and illegal is None:
        expected = check_character(code[:17])
        if code[17] != expected:
            errors.append(
                Problem(
                    "check_character",
                    _("校验位错误：第18位应为“%(expected)s”，实际为“%(actual)s”")
                    % {"expected": expected, "actual": code[17]},
                    18,
                )
            )
        org_expected = organization_check_character(code[8:16])
        if code[16] != org_expected:
            warnings.append(
                Problem(
                    "organization_code",
                    _(
                        "第9-17位组织机构代码的校验位与GB 11714不符：第17位应为“%(expected)s”，"
                        "实际为“%(actual)s”（部分主体的组织机构代码不按此规则编制，请核实）"
                    )
                    % {"expected": org_expected, "actual": code[16]},
                    17,
                )
            )

    valid = not errors
    return USCCResult(valid, code if valid else None, errors, warnings)


def is_valid(raw: str | None) -> bool:
    return check(raw).valid


_ORG_BODY_CHARS = CHARSET


def generate(
    rng: random.Random,
    *,
    department: str = "9",
    entity_type: str = "1",
    region: str = "441900",
) -> str:
    if department not in DEPARTMENTS or entity_type not in ENTITY_TYPE_LABELS[department]:
        raise ValueError(f"invalid department/entity type {department!r}{entity_type!r}")
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be 6 digits, got {region!r}")
    # Keep the organisation body free of letters GB 11714 allows but USCC forbids (I O S V Z).
    body = "".join(rng.choice(_ORG_BODY_CHARS) for _i in range(8))
    first17 = department + entity_type + region + body + organization_check_character(body)
    return first17 + check_character(first17)
