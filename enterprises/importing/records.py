"""Validation of one credit-record row: a clean record, or the list of what is wrong with it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.db.models import TextChoices
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from enterprises import uscc
from enterprises.models import Fulfilment, PenaltyClass, RecordType

COLUMNS = [
    "source_record_id",
    "uscc",
    "enterprise_name",
    "record_type",
    "source_department",
    "document_number",
    "decision_date",
    "penalty_class",
    "amount",
    "value",
    "valid_until",
    "content",
]
REQUIRED = ["source_record_id", "uscc", "record_type", "source_department", "decision_date"]
MAX_LENGTH = {
    "source_record_id": 100,
    "enterprise_name": 200,
    "source_department": 100,
    "document_number": 200,
    "value": 50,
    "content": 20000,
}
MAX_AMOUNT = Decimal("9999999999999999.99")
EARLIEST = date(1949, 10, 1)
TAX_GRADES = ("A", "B", "M", "C", "D")


@cache
def _aliases(choices: type[TextChoices]) -> dict[str, str]:
    """Codes and their Chinese names (行政处罚 → penalty), whatever the active language."""
    with translation.override("zh-hans"):
        names = {str(label): value for value, label in choices.choices}
    return names | {value: value for value in choices.values}


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


def parse_date(text: str) -> date | None:
    """ISO, slashes, dots, 2026年3月1日 or 20260301; None when it is not a real date."""
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class RowChecks:
    """The checks every import shares, collecting errors for one row."""

    def __init__(self, number: int, today: date):
        self.number = number
        self.today = today
        self.errors: list[RowError] = []

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.append(RowError(self.number, field, code, message))

    def present(self, values: dict[str, str], required: list[str], limits: dict[str, int]) -> None:
        for name in required:
            if not values[name]:
                self.fail(name, "required", _("缺少必填字段 %(field)s") % {"field": name})
        for name, limit in limits.items():
            if len(values[name]) > limit:
                self.fail(
                    name,
                    "too_long",
                    _("%(field)s 超过 %(limit)d 个字符（实际 %(length)d 个）")
                    % {"field": name, "limit": limit, "length": len(values[name])},
                )

    def uscc(self, text: str, field: str = "uscc") -> str:
        if not text:
            return ""
        result = uscc.check(text)
        if result.valid and result.normalized:
            return result.normalized
        for problem in result.errors:
            self.fail(field, problem.code, problem.message)
        return ""

    def date(self, text: str, field: str, *, future_ok: bool = False) -> date | None:
        if not text:
            return None
        parsed = parse_date(text)
        if parsed is None:
            self.fail(
                field,
                "invalid_date",
                _("日期无效：“%(value)s”，应为 YYYY-MM-DD") % {"value": text[:50]},
            )
            return None
        if parsed < EARLIEST:
            message = _("日期早于 1949-10-01：%(value)s") % {"value": text}
            self.fail(field, "impossible_date", message)
            return None
        if not future_ok and parsed > self.today:
            self.fail(field, "future_date", _("日期晚于今天：%(value)s") % {"value": text})
            return None
        return parsed

    def amount(self, text: str, field: str) -> Decimal | None:
        if not text:
            return None
        amount = parse_decimal(text)
        if amount is None:
            self.fail(
                field, "invalid_number", _("金额不是有效数字：“%(value)s”") % {"value": text[:50]}
            )
        elif amount < 0:
            self.fail(field, "negative_amount", _("金额不能为负数"))
        elif amount > MAX_AMOUNT:
            self.fail(field, "too_large", _("金额超出范围"))
        else:
            return amount.quantize(Decimal("0.01"))
        return None


def _digest(department: str, record_id: str) -> int:
    raw = f"{department}\x1f{record_id}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=16).digest(), "big")


class RecordValidator:
    """Checks rows one by one; remembers keys to catch duplicates inside one file or batch."""

    def __init__(self, *, source_department: str = "", today: date | None = None):
        self.source_department = source_department
        self.today = today or timezone.localdate()
        # 128-bit digests of seen keys → first row: a million keys stay well under 100 MB
        self.seen: dict[int, int] = {}

    def validate(
        self, number: int, raw: dict[str, str]
    ) -> tuple[dict[str, Any] | None, list[RowError]]:
        checks = RowChecks(number, self.today)
        fail = checks.fail
        values = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        if self.source_department:
            given = values["source_department"]
            if given and given != self.source_department:
                fail(
                    "source_department",
                    "department_mismatch",
                    _("来源部门“%(given)s”与本账号/参数指定的部门“%(expected)s”不一致")
                    % {"given": given, "expected": self.source_department},
                )
            values["source_department"] = self.source_department
        checks.present(values, REQUIRED, MAX_LENGTH)
        code = checks.uscc(values["uscc"])

        record_type = ""
        if values["record_type"]:
            record_type = _aliases(RecordType).get(values["record_type"].lower(), "")
            if not record_type:
                fail(
                    "record_type",
                    "unknown_record_type",
                    _("未知的记录类型“%(value)s”，应为：%(allowed)s")
                    % {
                        "value": values["record_type"][:50],
                        "allowed": ", ".join(RecordType.values),
                    },
                )

        decision_date = checks.date(values["decision_date"], "decision_date")
        valid_until = checks.date(values["valid_until"], "valid_until", future_ok=True)
        if decision_date and valid_until and valid_until < decision_date:
            fail("valid_until", "invalid_range", _("有效期至早于决定日期"))

        penalty_class = ""
        if values["penalty_class"]:
            penalty_class = _aliases(PenaltyClass).get(values["penalty_class"].lower(), "")
            if not penalty_class:
                fail(
                    "penalty_class",
                    "invalid_choice",
                    _("处罚类别应为 minor/general/serious（轻微/一般/严重），实际为“%(value)s”")
                    % {"value": values["penalty_class"][:50]},
                )
        elif record_type == RecordType.PENALTY:
            fail("penalty_class", "required", _("行政处罚记录必须填写处罚类别 penalty_class"))

        amount = checks.amount(values["amount"], "amount")

        typed = self._typed_value(record_type, values["value"], decision_date, fail)

        if values["source_department"] and values["source_record_id"]:
            key = _digest(values["source_department"], values["source_record_id"])
            first = self.seen.get(key)
            if first is not None:
                fail(
                    "source_record_id",
                    "duplicate_in_file",
                    _("与第 %(row)d 行的来源记录编号重复") % {"row": first},
                )
            elif not checks.errors:
                self.seen[key] = number

        if checks.errors:
            return None, checks.errors
        assert decision_date is not None
        return {
            "uscc": code,
            "enterprise_name": values["enterprise_name"],
            "record_type": record_type,
            "source_department": values["source_department"],
            "source_record_id": values["source_record_id"],
            "document_number": values["document_number"],
            "decision_date": decision_date,
            "penalty_class": penalty_class if record_type == RecordType.PENALTY else "",
            "amount": amount,
            "valid_until": valid_until,
            "content": values["content"],
            **typed,
        }, []

    def _typed_value(
        self, record_type: str, text: str, decision_date: date | None, fail: Any
    ) -> dict[str, Any]:
        """`value` means different things per record type (see docs/IMPORT.md)."""
        typed: dict[str, Any] = {
            "value": text,
            "year": None,
            "months_paid": None,
            "months_arrears": None,
            "fulfilment": "",
        }
        if record_type == RecordType.TAX_GRADE:
            grade = text.upper()
            if grade not in TAX_GRADES:
                fail(
                    "value",
                    "invalid_value",
                    _("纳税信用等级应为 A/B/M/C/D，实际为“%(value)s”") % {"value": text[:50]},
                )
            typed["value"] = grade
            typed["year"] = decision_date.year if decision_date else None
        elif record_type in (RecordType.SOCIAL_INSURANCE, RecordType.HOUSING_FUND):
            match = re.fullmatch(r"(\d{1,3})(?:/(\d{1,3}))?", text)
            if not match:
                fail(
                    "value",
                    "invalid_value",
                    _("社保/公积金应填“已缴月数/欠缴月数”，如 12/0，实际为“%(value)s”")
                    % {"value": text[:50]},
                )
            elif match[2] is None:
                typed["months_arrears"] = int(match[1])
            else:
                typed["months_paid"], typed["months_arrears"] = int(match[1]), int(match[2])
        elif record_type == RecordType.UTILITY_PAYMENT:
            if text and not text.isdigit():
                fail(
                    "value",
                    "invalid_value",
                    _("水电气欠费月数应为整数，实际为“%(value)s”") % {"value": text[:50]},
                )
            typed["months_arrears"] = int(text) if text.isdigit() else None
        elif record_type == RecordType.COMMITMENT:
            fulfilment = _aliases(Fulfilment).get(text.lower() or "pending", "")
            if not fulfilment:
                fail(
                    "value",
                    "invalid_value",
                    _("信用承诺履约状态应为 pending/fulfilled/breached（履约中/已履约/未履约）"),
                )
            typed["fulfilment"] = fulfilment
        return typed
