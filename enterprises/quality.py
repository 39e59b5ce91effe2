"""The credit office's data-quality report on public credit data, per source department and month.

Every figure is counted in the database (GROUP BY department and month of receipt in Beijing
time); only the timeliness needs Python, and then once per distinct (decision date, receipt
date) pair, never per record.

- received = accepted + rejected; accepted = credit records first received that month,
  rejected = rejected rows (distinct batch and row: a row with two faults counts once).
- invalid_uscc = rejected rows with a fault in the `uscc` field (重错码); its rate is over
  received rows.
- duplicates / missing_required = rejected rows with a `duplicate_in_file` / `required` fault.
- timeliness = working days (Chinese holiday calendar) from the decision date to the day of
  receipt, for accepted records; late = more than `DATA_TIMELINESS_WORKING_DAYS`.
- orphans = accepted records matched to no enterprise; overdue_active = records still `active`
  after the last day of their publication period.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import CharField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, TruncDate, TruncMonth
from django.utils import timezone

from enterprises.models import CreditRecord, ImportRejection, RecordStatus
from xinyidai.core.workdays import working_days_between
from xinyidai.permissions import Role, has_role

# Receipt months and days are Beijing time, whatever the server's zone.
REPORT_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
USCC_FIELD = "uscc"
DUPLICATE_CODE = "duplicate_in_file"
REQUIRED_CODE = "required"

RATE_PLACES = Decimal("0.0001")
MEAN_PLACES = Decimal("0.01")
MEDIAN_PLACES = Decimal("0.1")


def timeliness_threshold() -> int:
    """Working days after which a record counts as late (setting, default 7)."""
    return int(getattr(settings, "DATA_TIMELINESS_WORKING_DAYS", 7))


@dataclass(frozen=True)
class QualityRow:
    department: str
    month: dt.date  # the 1st of the month of receipt
    received: int
    accepted: int
    rejected: int
    invalid_uscc: int
    invalid_uscc_rate: Decimal  # 0..1, 4 places
    duplicates: int
    missing_required: int
    median_working_days: Decimal | None  # None without accepted records
    mean_working_days: Decimal | None
    late: int
    late_rate: Decimal | None  # late / accepted, 0..1, 4 places
    orphans: int
    overdue_active: int

    @property
    def invalid_uscc_percent(self) -> Decimal:
        return (self.invalid_uscc_rate * 100).quantize(MEAN_PLACES)

    @property
    def late_percent(self) -> Decimal | None:
        return None if self.late_rate is None else (self.late_rate * 100).quantize(MEAN_PLACES)


# Column names are a contract for the credit office's spreadsheets: add, never rename.
QUALITY_CSV_HEADER = [
    "department",
    "month",
    "received",
    "accepted",
    "rejected",
    "invalid_uscc",
    "invalid_uscc_rate",
    "duplicates",
    "missing_required",
    "median_working_days",
    "mean_working_days",
    "late",
    "late_rate",
    "orphans",
    "overdue_active",
]


# ---------------------------------------------------------------------------------------------
# Tenant: the whole city's import data belongs to the credit office
# ---------------------------------------------------------------------------------------------
def can_view_quality(user: Any) -> bool:
    return has_role(user, Role.CREDIT_OFFICE, Role.SUPERUSER)


def _records_for(user: Any) -> QuerySet[CreditRecord]:
    qs = CreditRecord.objects.order_by()
    return qs if can_view_quality(user) else qs.none()


def _rejections_for(user: Any) -> QuerySet[Any]:
    """Rejections annotated with `department`."""
    # a rejection without its own department belongs to the department that sent the batch
    qs = ImportRejection.objects.order_by().annotate(
        department=Coalesce(
            NullIf(F("source_department"), Value("")), F("batch__source_department")
        )
    )
    return qs if can_view_quality(user) else qs.none()


def quality_departments(*, user: Any) -> list[str]:
    """Departments that sent anything, for the filter."""
    accepted = _records_for(user).values_list("source_department", flat=True).distinct()
    rejected = _rejections_for(user).values_list("department", flat=True).distinct()
    return sorted({d for d in [*accepted, *rejected] if d})


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
def _month_start(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=REPORT_TZ)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _received_between(
    qs: QuerySet[Any], month_from: dt.date | None, month_to: dt.date | None
) -> QuerySet[Any]:
    if month_from is not None:
        qs = qs.filter(created_at__gte=_month_start(month_from))
    if month_to is not None:
        qs = qs.filter(created_at__lt=_month_start(_next_month(month_to)))
    return qs


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, ROUND_HALF_UP)


@dataclass
class _Timeliness:
    median: Decimal | None = None
    mean: Decimal | None = None
    late: int = 0


def _timeliness(counts: Iterable[tuple[int, int]], threshold: int) -> _Timeliness:
    """Median, mean and late count from (working days, number of records) pairs."""
    pairs = sorted(counts)
    total = sum(n for _days, n in pairs)
    if not total:
        return _Timeliness()

    def nth(index: int) -> int:  # 0-based position in the sorted, expanded list
        seen = 0
        for days, n in pairs:
            seen += n
            if index < seen:
                return days
        raise IndexError(index)

    middle = total // 2
    median = Decimal(nth(middle)) if total % 2 else Decimal(nth(middle - 1) + nth(middle)) / 2
    mean = Decimal(sum(days * n for days, n in pairs)) / Decimal(total)
    return _Timeliness(
        median=median.quantize(MEDIAN_PLACES, ROUND_HALF_UP),
        mean=mean.quantize(MEAN_PLACES, ROUND_HALF_UP),
        late=sum(n for days, n in pairs if days > threshold),
    )


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value, REPORT_TZ).date()
            if timezone.is_aware(value)
            else value.date()
        )
    return value


def quality_report(
    *,
    user: Any,
    department: str = "",
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
) -> list[QualityRow]:
    """One row per department and month of receipt, ordered by department then month.

    Users other than the credit office and superusers get an empty report.
    """
    if not can_view_quality(user):
        return []
    records = _received_between(_records_for(user), month_from, month_to)
    rejections = _received_between(_rejections_for(user), month_from, month_to)
    if department:
        records = records.filter(source_department=department)
        rejections = rejections.filter(
            Q(source_department=department)
            | Q(source_department="", batch__source_department=department)
        )
    today = timezone.localdate(timezone=REPORT_TZ)
    threshold = timeliness_threshold()

    accepted_rows = (
        records.annotate(month=TruncMonth("created_at", tzinfo=REPORT_TZ))
        .values("source_department", "month")
        .annotate(
            accepted=Count("id"),
            orphans=Count("id", filter=Q(enterprise__isnull=True)),
            overdue_active=Count(
                "id", filter=Q(status=RecordStatus.ACTIVE, publish_max_until__lt=today)
            ),
        )
    )
    row_key = Concat(
        Cast("batch_id", CharField()),
        Value(":"),
        Cast("row", CharField()),
        output_field=CharField(),
    )

    def rows_with(condition: Q | None = None) -> Count:
        return Count(row_key, distinct=True, filter=condition)

    rejected_rows = (
        rejections.annotate(month=TruncMonth("created_at", tzinfo=REPORT_TZ))
        .values("department", "month")
        .annotate(
            rejected=rows_with(),
            invalid_uscc=rows_with(Q(field=USCC_FIELD)),
            duplicates=rows_with(Q(code=DUPLICATE_CODE)),
            missing_required=rows_with(Q(code=REQUIRED_CODE)),
        )
    )
    # Timeliness: distinct (department, decision date, receipt date) with their record counts.
    date_pairs = (
        records.annotate(received_on=TruncDate("created_at", tzinfo=REPORT_TZ))
        .values_list("source_department", "decision_date", "received_on")
        .annotate(n=Count("id"))
    )

    figures: dict[tuple[str, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in accepted_rows:
        key = (a["source_department"], _as_date(a["month"]))
        figures[key].update(
            accepted=a["accepted"], orphans=a["orphans"], overdue_active=a["overdue_active"]
        )
    for r in rejected_rows:
        key = (r["department"] or "", _as_date(r["month"]))
        for name in ("rejected", "invalid_uscc", "duplicates", "missing_required"):
            figures[key][name] = r[name]

    working_days: dict[tuple[dt.date, dt.date], int] = {}
    durations: dict[tuple[str, dt.date], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for dept, decided, received_on, n in date_pairs:
        received_day = _as_date(received_on)
        pair = (decided, received_day)
        if pair not in working_days:
            working_days[pair] = working_days_between(decided, received_day)
        durations[(dept, received_day.replace(day=1))][working_days[pair]] += n

    result = []
    for (dept, month), f in sorted(figures.items()):
        received = f["accepted"] + f["rejected"]
        timeliness = _timeliness(durations[(dept, month)].items(), threshold)
        result.append(
            QualityRow(
                department=dept,
                month=month,
                received=received,
                accepted=f["accepted"],
                rejected=f["rejected"],
                invalid_uscc=f["invalid_uscc"],
                invalid_uscc_rate=_rate(f["invalid_uscc"], received),
                duplicates=f["duplicates"],
                missing_required=f["missing_required"],
                median_working_days=timeliness.median,
                mean_working_days=timeliness.mean,
                late=timeliness.late,
                late_rate=_rate(timeliness.late, f["accepted"]) if f["accepted"] else None,
                orphans=f["orphans"],
                overdue_active=f["overdue_active"],
            )
        )
    return result


def quality_csv_rows(rows: Iterable[QualityRow]) -> Iterator[list[Any]]:
    """Rows for `QUALITY_CSV_HEADER`: month as YYYY-MM, no value as an empty cell."""
    for row in rows:
        values = asdict(row)
        values["month"] = row.month.strftime("%Y-%m")
        yield [values[name] for name in QUALITY_CSV_HEADER]


def quality_chart_data(rows: Iterable[QualityRow]) -> dict[str, Any]:
    """What the page's two charts need, as plain JSON numbers (percent, 2 places).

    - invalid_uscc: months on the x axis, one line per department (null where it sent nothing);
    - late_share: one bar per department, late records over accepted ones for the whole period.
    """
    rows = list(rows)
    months = sorted({row.month for row in rows})
    departments = sorted({row.department for row in rows})
    rate = {(row.department, row.month): row.invalid_uscc_rate for row in rows}
    late: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        late[row.department][0] += row.late
        late[row.department][1] += row.accepted

    def percent(value: Decimal | None) -> float | None:
        return None if value is None else float((value * 100).quantize(MEAN_PLACES))

    return {
        "months": [m.strftime("%Y-%m") for m in months],
        "invalid_uscc": [
            {"name": dept, "data": [percent(rate.get((dept, m))) for m in months]}
            for dept in departments
        ],
        "late_share": {
            "departments": departments,
            "data": [
                percent(_rate(late[d][0], late[d][1]) if late[d][1] else None) for d in departments
            ],
        },
    }
