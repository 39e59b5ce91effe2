"""The data-quality report: exact figures per department and month, CSV, API and access."""

from __future__ import annotations

import itertools
import random
import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from enterprises import quality, uscc
from enterprises.models import CreditRecord, ImportBatch, ImportRejection
from enterprises.quality import QualityRow, quality_report
from xinyidai.core.workdays import working_days_between

pytestmark = pytest.mark.django_db

BJ = zoneinfo.ZoneInfo("Asia/Shanghai")
SAMR = "东莞市市场监督管理局"
TAX = "国家税务总局东莞市税务局"
_ids = itertools.count(1)


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BJ)


# a valid code of an enterprise that is not (yet) in the registry
ORPHAN_USCC = uscc.generate(random.Random(4419))


def record(
    department: str,
    decided: date,
    received: datetime,
    *,
    enterprise: Any = None,
    status: str = "active",
    publish_max_until: date | None = None,
) -> CreditRecord:
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc if enterprise else ORPHAN_USCC,
        record_type="penalty",
        penalty_class="general",
        source_department=department,
        source_record_id=f"R{next(_ids)}",
        decision_date=decided,
        content_hash="0" * 64,
        status=status,
        publish_max_until=publish_max_until,
        created_at=received,
    )


def reject(
    batch: ImportBatch, row: int, field: str, code: str, received: datetime, department: str = ""
) -> None:
    ImportRejection.objects.create(
        batch=batch,
        source_department=department if department else batch.source_department,
        row=row,
        field=field,
        code=code,
        message=f"{field} {code}",
        created_at=received,
    )


@pytest.fixture
def data(enterprise: Any) -> None:
    today = timezone.localdate()
    # 市场监管局, received in October 2026: 4 records across 国庆 and 中秋 (25 Sep and 1–7 Oct
    # off; Sunday 20 Sep and Saturday 10 Oct worked). Working days from decision to receipt:
    # 1, 6, 11, 19.
    record(
        SAMR,
        date(2026, 9, 30),
        at(2026, 10, 8),
        enterprise=enterprise,
        publish_max_until=today - timedelta(days=1),  # past its last day, still active
    )
    record(
        SAMR,
        date(2026, 9, 23),
        at(2026, 10, 9),
        enterprise=enterprise,
        status="expired",  # past its last day but already expired: fine
        publish_max_until=today - timedelta(days=1),
    )
    record(
        SAMR,
        date(2026, 9, 18),
        at(2026, 10, 10),  # a 调休 Saturday
        enterprise=enterprise,
        publish_max_until=today,  # last day is today: still shown
    )
    record(SAMR, date(2026, 9, 29), at(2026, 10, 31, 23, 30))  # no enterprise: an orphan
    # 00:30 Beijing on 1 November is still 31 October in UTC: it belongs to November
    record(SAMR, date(2026, 10, 30), at(2026, 11, 1, 0, 30), enterprise=enterprise)

    october = ImportBatch.objects.create(source_department=SAMR, channel="file")
    reject(october, 2, "uscc", "check_digit", at(2026, 10, 12))  # two faults, one row
    reject(october, 2, "uscc", "charset", at(2026, 10, 12))
    reject(october, 3, "uscc", "required", at(2026, 10, 12))  # no USCC at all
    reject(october, 3, "decision_date", "required", at(2026, 10, 12))
    reject(october, 4, "source_record_id", "duplicate_in_file", at(2026, 10, 12))
    reject(october, 5, "record_type", "required", at(2026, 10, 12))
    again = ImportBatch.objects.create(source_department=SAMR, channel="api")
    reject(again, 2, "uscc", "length", at(2026, 10, 20))  # same row number, another batch
    # a rejection without its own department belongs to its batch's department
    late_batch = ImportBatch.objects.create(source_department=SAMR, channel="file")
    ImportRejection.objects.create(
        batch=late_batch,
        source_department="",
        row=7,
        field="uscc",
        code="check_digit",
        message="x",
        created_at=at(2026, 11, 1, 0, 10),
    )

    # 税务局, October: Fri 9 Oct → Mon 12 Oct is 2 working days (Saturday 10 Oct is worked),
    # twice; and one received the day it was decided.
    record(TAX, date(2026, 10, 9), at(2026, 10, 12, 9), enterprise=enterprise)
    record(TAX, date(2026, 10, 9), at(2026, 10, 12, 15), enterprise=enterprise)
    record(TAX, date(2026, 10, 12), at(2026, 10, 12, 16), enterprise=enterprise)
    # 税务局, September: nothing accepted, one row rejected for a bad date
    tax_batch = ImportBatch.objects.create(source_department=TAX, channel="file")
    reject(tax_batch, 9, "decision_date", "invalid_date", at(2026, 9, 15))


SAMR_OCTOBER = QualityRow(
    department=SAMR,
    month=date(2026, 10, 1),
    received=9,
    accepted=4,
    rejected=5,
    invalid_uscc=3,
    invalid_uscc_rate=Decimal("0.3333"),
    duplicates=1,
    missing_required=2,
    median_working_days=Decimal("8.5"),
    mean_working_days=Decimal("9.25"),
    late=2,
    late_rate=Decimal("0.5000"),
    orphans=1,
    overdue_active=1,
)
SAMR_NOVEMBER = QualityRow(
    department=SAMR,
    month=date(2026, 11, 1),
    received=2,
    accepted=1,
    rejected=1,
    invalid_uscc=1,
    invalid_uscc_rate=Decimal("0.5000"),
    duplicates=0,
    missing_required=0,
    median_working_days=Decimal("0.0"),
    mean_working_days=Decimal("0.00"),
    late=0,
    late_rate=Decimal("0.0000"),
    orphans=0,
    overdue_active=0,
)
TAX_SEPTEMBER = QualityRow(
    department=TAX,
    month=date(2026, 9, 1),
    received=1,
    accepted=0,
    rejected=1,
    invalid_uscc=0,
    invalid_uscc_rate=Decimal("0.0000"),
    duplicates=0,
    missing_required=0,
    median_working_days=None,
    mean_working_days=None,
    late=0,
    late_rate=None,
    orphans=0,
    overdue_active=0,
)
TAX_OCTOBER = QualityRow(
    department=TAX,
    month=date(2026, 10, 1),
    received=3,
    accepted=3,
    rejected=0,
    invalid_uscc=0,
    invalid_uscc_rate=Decimal("0.0000"),
    duplicates=0,
    missing_required=0,
    median_working_days=Decimal("2.0"),
    mean_working_days=Decimal("1.33"),
    late=0,
    late_rate=Decimal("0.0000"),
    orphans=0,
    overdue_active=0,
)


def test_report_figures(data: None, credit_office: Any) -> None:
    rows = quality_report(user=credit_office)
    assert rows == [SAMR_OCTOBER, SAMR_NOVEMBER, TAX_SEPTEMBER, TAX_OCTOBER]


def test_counted_in_the_database_with_python_per_distinct_date_pair(
    data: None, credit_office: Any, monkeypatch: Any, django_assert_max_num_queries: Any
) -> None:
    calls: list[tuple[date, date]] = []
    real = quality.working_days_between

    def counting(start: date, end: date) -> int:
        calls.append((start, end))
        return real(start, end)

    monkeypatch.setattr(quality, "working_days_between", counting)
    assert quality.can_view_quality(credit_office)  # roles are looked up (and cached) first
    working_days_between(date(2026, 1, 1), date(2026, 1, 2))  # the calendar loads once a process
    # accepted figures, rejected figures, distinct date pairs: whatever the number of rows
    with django_assert_max_num_queries(3):
        quality_report(user=credit_office)
    # 8 accepted records, 7 distinct (decision date, receipt date) pairs: the two identical
    # 税务局 records are counted once
    assert len(calls) == len(set(calls)) == 7


def test_filters(data: None, credit_office: Any, superuser: Any) -> None:
    assert quality_report(user=credit_office, department=TAX) == [TAX_SEPTEMBER, TAX_OCTOBER]
    october = date(2026, 10, 1)
    # 23:30 on 31 October is in, 00:10 and 00:30 on 1 November (Beijing) are out
    assert quality_report(user=superuser, month_from=october, month_to=october) == [
        SAMR_OCTOBER,
        TAX_OCTOBER,
    ]
    assert quality_report(user=credit_office, month_from=date(2026, 11, 1)) == [SAMR_NOVEMBER]
    assert quality_report(user=credit_office, month_to=date(2026, 9, 1)) == [TAX_SEPTEMBER]
    assert quality_report(user=credit_office, department="无此部门") == []


def test_threshold_is_a_setting(data: None, credit_office: Any, settings: Any) -> None:
    settings.DATA_TIMELINESS_WORKING_DAYS = 11  # late means more than 11: 11 is on time
    row = quality_report(user=credit_office, department=SAMR)[0]
    assert (row.late, row.late_rate) == (1, Decimal("0.2500"))


@pytest.mark.parametrize("role", ["bank_admin", "bank_officer", "enterprise_owner", "plain_user"])
def test_other_roles_get_nothing(data: None, role: str, request: Any) -> None:
    assert quality_report(user=request.getfixturevalue(role)) == []
    assert quality.quality_departments(user=request.getfixturevalue(role)) == []


def test_departments_for_the_filter(data: None, credit_office: Any) -> None:
    assert quality.quality_departments(user=credit_office) == sorted([SAMR, TAX])


def test_chart_data() -> None:
    charts = quality.quality_chart_data([SAMR_OCTOBER, SAMR_NOVEMBER, TAX_SEPTEMBER, TAX_OCTOBER])
    assert charts == {
        "months": ["2026-09", "2026-10", "2026-11"],
        "invalid_uscc": [
            {"name": SAMR, "data": [None, 33.33, 50.0]},
            {"name": TAX, "data": [0.0, 0.0, None]},
        ],
        # 市场监管局: 2 late of 5 accepted; 税务局: 0 of 3
        "late_share": {"departments": [SAMR, TAX], "data": [40.0, 0.0]},
    }


# ---------------------------------------------------------------------------------------------
# Page, CSV, API
# ---------------------------------------------------------------------------------------------
CSV_HEADER = (
    "department,month,received,accepted,rejected,invalid_uscc,invalid_uscc_rate,duplicates,"
    "missing_required,median_working_days,mean_working_days,late,late_rate,orphans,overdue_active"
)


def test_page(data: None, credit_office: Any, login: Any) -> None:
    response = login(credit_office).get("/enterprises/quality/", {"department": SAMR})
    assert response.status_code == 200
    assert response.context["page"].object_list == [SAMR_OCTOBER, SAMR_NOVEMBER]
    assert response.context["threshold"] == 7
    html = response.content.decode()
    assert "33.33%" in html
    assert '<script id="quality-charts" type="application/json">' in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert f'<option value="{TAX}">' in html  # every department in the filter


def test_page_month_filter_and_bad_range(data: None, credit_office: Any, login: Any) -> None:
    client = login(credit_office)
    response = client.get("/enterprises/quality/", {"month_from": "2026-11", "month_to": ""})
    assert response.context["page"].object_list == [SAMR_NOVEMBER]
    response = client.get("/enterprises/quality/", {"month_from": "2026-11", "month_to": "2026-10"})
    assert response.context["form"].errors == {"month_to": ["截止月份不能早于起始月份"]}


def test_page_without_data(credit_office: Any, login: Any) -> None:
    response = login(credit_office).get("/enterprises/quality/")
    assert response.status_code == 200
    assert "echarts.min.js" not in response.content.decode()


def test_csv_export(data: None, credit_office: Any, login: Any) -> None:
    response = login(credit_office).get(
        "/enterprises/quality/", {"export": "csv", "month_from": "2026-10", "month_to": "2026-10"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0] == CSV_HEADER
    assert lines[0].split(",") == quality.QUALITY_CSV_HEADER
    assert lines[1] == f"{SAMR},2026-10,9,4,5,3,0.3333,1,2,8.5,9.25,2,0.5000,1,1"
    assert lines[2] == f"{TAX},2026-10,3,3,0,0,0.0000,0,0,2.0,1.33,0,0.0000,0,0"
    assert len(lines) == 3


def test_csv_empty_cells_for_no_value(data: None, credit_office: Any, login: Any) -> None:
    response = login(credit_office).get(
        "/enterprises/quality/", {"export": "csv", "department": TAX, "month_to": "2026-09"}
    )
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1:] == [f"{TAX},2026-09,1,0,1,0,0.0000,0,0,,,0,,0,0"]


def test_api(data: None, credit_office: Any, login: Any) -> None:
    response = login(credit_office).get(
        "/api/v1/credit-records/quality/", {"month_from": "2026-10", "month_to": "2026-10"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["threshold_working_days"] == 7
    assert body["rows"] == [
        {
            "department": SAMR,
            "month": "2026-10",
            "received": 9,
            "accepted": 4,
            "rejected": 5,
            "invalid_uscc": 3,
            "invalid_uscc_rate": "0.3333",
            "duplicates": 1,
            "missing_required": 2,
            "median_working_days": "8.5",
            "mean_working_days": "9.25",
            "late": 2,
            "late_rate": "0.5000",
            "orphans": 1,
            "overdue_active": 1,
        },
        {
            "department": TAX,
            "month": "2026-10",
            "received": 3,
            "accepted": 3,
            "rejected": 0,
            "invalid_uscc": 0,
            "invalid_uscc_rate": "0.0000",
            "duplicates": 0,
            "missing_required": 0,
            "median_working_days": "2.0",
            "mean_working_days": "1.33",
            "late": 0,
            "late_rate": "0.0000",
            "orphans": 0,
            "overdue_active": 0,
        },
    ]


def test_api_department_and_nulls(data: None, superuser: Any, login: Any) -> None:
    body = (
        login(superuser)
        .get("/api/v1/credit-records/quality/", {"department": TAX, "month_to": "2026-09"})
        .json()
    )
    (row,) = body["rows"]
    assert (row["month"], row["median_working_days"], row["mean_working_days"]) == (
        "2026-09",
        None,
        None,
    )
    assert row["late_rate"] is None


@pytest.mark.parametrize("month", ["2026-13", "2026/10", "october"])
def test_api_bad_month(month: str, credit_office: Any, login: Any) -> None:
    response = login(credit_office).get("/api/v1/credit-records/quality/", {"month_from": month})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_api_reversed_range(credit_office: Any, login: Any) -> None:
    response = login(credit_office).get(
        "/api/v1/credit-records/quality/", {"month_from": "2026-11", "month_to": "2026-10"}
    )
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"month_to"}


@pytest.mark.parametrize(
    "role", ["bank_admin", "bank_officer", "enterprise_owner", "enterprise_member", "plain_user"]
)
def test_bank_and_enterprise_roles_are_refused(
    data: None, role: str, request: Any, login: Any
) -> None:
    client = login(request.getfixturevalue(role))
    assert client.get("/enterprises/quality/").status_code == 403
    assert client.get("/enterprises/quality/?export=csv").status_code == 403
    response = client.get("/api/v1/credit-records/quality/")
    assert response.status_code == 403
    assert "rows" not in response.json()


def test_credit_office_sees_the_link(credit_office: Any, login: Any) -> None:
    html = login(credit_office).get("/").content.decode()
    assert 'href="/enterprises/quality/"' in html
