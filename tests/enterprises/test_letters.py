from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import hashes
from django.utils import timezone

from enterprises import letters
from enterprises.letters import AuthorizationLetter, render_authorization_letter
from xinyidai.core import pdf
from xinyidai.core.pdf import pdf_text

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext not found: install poppler-utils (scripts/services.sh does)",
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sm3(text: str) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(text.encode())
    return digest.finalize().hex()


DIGEST = sm3("SQ20261122-7K3M9Q2X|91330201MA282UF146|portrait|pre_loan")
VERIFY_URL = "https://xinyidai.example.cn/letters/SQ20261122-7K3M9Q2X/verify"

RENEWAL = AuthorizationLetter(
    number="SQ20261122-7K3M9Q2X",
    digest=DIGEST,
    enterprise_name="宁波海曙明远精密机械有限公司",
    enterprise_uscc="91330201MA282UF146",
    grantee_name="宁波银行股份有限公司海曙支行",
    scope="portrait",
    scope_label="信用画像",
    scope_description="可查看企业的信用评分、等级、风险标签和股权关系图谱。",
    purpose_label="贷前调查",
    # 06:05 UTC is 14:05 in Beijing: the letter prints Beijing time whatever it is given.
    valid_from=datetime(2026, 11, 22, 6, 5, tzinfo=UTC),
    valid_until=datetime(2027, 5, 22, 23, 59, tzinfo=SHANGHAI),
    granted_by_name="zhang.wei@example.cn",
    granted_at=datetime(2026, 11, 22, 14, 3, tzinfo=SHANGHAI),
    renewed_from_number="SQ20260522-4H8N2P6R",
    verify_url=VERIFY_URL,
)
PLAIN = replace(
    RENEWAL,
    number="SQ20261123-9T5W3Y7Z",
    grantee_name="平台全部银行（融资对接）",
    renewed_from_number="",
    verify_url="",
)


def compact(text: str) -> str:
    """pdftotext wraps lines and lays table cells out with spaces: compare without whitespace."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def renewal_pdf() -> bytes:
    return render_authorization_letter(RENEWAL)


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    return render_authorization_letter(PLAIN)


@needs_pdftotext
def test_letter_prints_the_parties_and_terms(renewal_pdf: bytes) -> None:
    assert renewal_pdf.startswith(b"%PDF-")
    text = compact(pdf_text(renewal_pdf))

    assert "信用信息查询使用授权书" in text
    assert "授权人宁波海曙明远精密机械有限公司" in text
    assert "统一社会信用代码91330201MA282UF146" in text
    assert "被授权人宁波银行股份有限公司海曙支行" in text
    assert "授权范围信用画像" in text
    assert "可查看企业的信用评分、等级、风险标签和股权关系图谱。" in text
    assert "授权用途贷前调查" in text
    assert "自2026年11月22日14:05起至2027年5月22日23:59止（北京时间）" in text
    assert "授权时间2026年11月22日14:03" in text
    assert "授权编号SQ20261122-7K3M9Q2X" in text
    assert "续期自本授权为授权编号SQ20260522-4H8N2P6R的续期" in text
    assert "撤销即时生效" in text
    assert "本授权书由zhang.wei@example.cn代表授权人于2026年11月22日14:03" in text
    assert "第1页/共1页" in text  # a one-page letter, counter in the margin box


@needs_pdftotext
def test_letter_prints_the_digest_in_groups_of_eight(renewal_pdf: bytes) -> None:
    words = pdf_text(renewal_pdf).split()

    groups = [DIGEST[i : i + 8] for i in range(0, 64, 8)]
    assert all(group in words for group in groups), groups
    assert DIGEST in words  # and in full in the page footer


@needs_pdftotext
def test_letter_with_a_verify_url_has_the_qr_code_and_the_url(renewal_pdf: bytes) -> None:
    html = pdf.render_html(letters.TEMPLATE, letters.letter_context(RENEWAL))
    assert html.count('src="data:image/svg+xml') == 1

    text = compact(pdf_text(renewal_pdf))
    assert "扫码核验" in text
    assert VERIFY_URL in text


@needs_pdftotext
def test_letter_without_verify_url_or_renewal_has_neither(plain_pdf: bytes) -> None:
    assert plain_pdf.startswith(b"%PDF-")
    text = compact(pdf_text(plain_pdf))

    assert "被授权人平台全部银行（融资对接）" in text
    assert "授权编号SQ20261123-9T5W3Y7Z" in text
    assert "扫码核验" not in text
    assert "续期自" not in text
    assert "SQ20260522-4H8N2P6R" not in text
    html = pdf.render_html(letters.TEMPLATE, letters.letter_context(PLAIN))
    assert "data:image/svg+xml" not in html
    assert "<img" not in html


def test_dates_are_beijing_time_whatever_the_active_time_zone() -> None:
    with timezone.override(ZoneInfo("America/New_York")):
        assert letters.format_datetime(datetime(2026, 1, 4, 17, 5, tzinfo=UTC)) == (
            "2026年1月5日 01:05"
        )


def test_page_counter_is_css_content_from_one_translatable_string() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        assert pdf.page_counter_content() == '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    with translation.override("en"):
        content = str(pdf.page_counter_content())
    assert "counter(page)" in content and "counter(pages)" in content and "页" not in content


@pytest.mark.parametrize(
    "change",
    [
        {"digest": "ab" * 31},
        {"digest": "xy" * 32},
        {"valid_from": datetime(2026, 11, 22, 14, 5)},  # naive
        {"granted_at": datetime(2026, 11, 22, 14, 5)},
    ],
)
def test_letter_refuses_a_bad_digest_or_naive_time(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(RENEWAL, **change)  # type: ignore[arg-type]
