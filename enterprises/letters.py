"""The authorisation letter (授权书): the PDF an enterprise gets for each grant to a bank."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.utils import dateformat, timezone, translation

from xinyidai.core import pdf

TEMPLATE = "enterprises/pdf/authorization_letter.html"
LETTER_TIMEZONE = ZoneInfo("Asia/Shanghai")
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年11月22日 14:05
DIGEST_GROUP = 8

_DIGEST_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class AuthorizationLetter:
    number: str  # e.g. "SQ20261122-7K3M9Q2X"
    digest: str  # 64 hex chars, SM3 of the canonical terms
    enterprise_name: str
    enterprise_uscc: str
    grantee_name: str  # a bank's name, or "平台全部银行（融资对接）" for all banks
    scope: str  # "summary" | "portrait" | "records"
    scope_label: str  # 信用摘要 / 信用画像 / 信用记录明细
    scope_description: str  # what the scope lets the bank read, one sentence in Chinese
    purpose_label: str  # e.g. 贷前调查
    valid_from: datetime  # aware
    valid_until: datetime  # aware
    granted_by_name: str  # the enterprise user who granted (name or e-mail)
    granted_at: datetime  # aware
    renewed_from_number: str = ""  # number of the letter this one renews, if any
    verify_url: str = ""  # absolute URL where the letter can be checked, may be empty

    def __post_init__(self) -> None:
        if not _DIGEST_RE.fullmatch(self.digest):
            raise ValueError(f"digest must be 64 hex characters, got {self.digest!r}")
        for name in ("valid_from", "valid_until", "granted_at"):
            if timezone.is_naive(getattr(self, name)):
                raise ValueError(f"{name} must be an aware datetime")


def format_datetime(value: datetime) -> str:
    """``2026年11月22日 14:05`` in Beijing time, whatever the active time zone."""
    return dateformat.format(timezone.localtime(value, LETTER_TIMEZONE), DATETIME_FORMAT)


def digest_groups(digest: str) -> list[str]:
    return [digest[i : i + DIGEST_GROUP] for i in range(0, len(digest), DIGEST_GROUP)]


def qr_data_uri(url: str) -> str:
    """An SVG QR code of ``url`` as a data URI; empty when there is no URL."""
    if not url:
        return ""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2))


def letter_context(letter: AuthorizationLetter) -> dict[str, Any]:
    return {
        "letter": letter,
        "valid_from": format_datetime(letter.valid_from),
        "valid_until": format_datetime(letter.valid_until),
        "granted_at": format_datetime(letter.granted_at),
        "digest_groups": digest_groups(letter.digest),
        "qr_data_uri": qr_data_uri(letter.verify_url),
    }


def render_authorization_letter(letter: AuthorizationLetter) -> bytes:
    # The site's language, not the requesting user's: everyone who downloads a letter gets the
    # same document.
    with translation.override(settings.LANGUAGE_CODE):
        return pdf.render_pdf(TEMPLATE, letter_context(letter))
