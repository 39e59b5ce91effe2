"""The holiday calendar kept by the credit office: writes (services) and reads (selectors).

`chinese_calendar` knows the State Council's schedule up to the year it was released for; the
office enters later years here, day by day or as a CSV file (`date,kind,name,note`), and
confirms a year once its schedule is complete. Every change is audited and, after commit,
bumps the calendar version so that every process rebuilds its working-day table
(`xinyidai.core.workdays`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinyidai.core import workdays
from xinyidai.core.audit import audit
from xinyidai.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xinyidai.core.models import CalendarDay, CalendarDayKind, CalendarYear, User
from xinyidai.permissions import can_edit_calendar

LATEST_YEAR = 2099
NAME_MAX = CalendarDay._meta.get_field("name").max_length or 50
NOTE_MAX = CalendarDay._meta.get_field("note").max_length or 200
REF_MAX = CalendarYear._meta.get_field("published_ref").max_length or 200
CSV_COLUMNS = ("date", "kind", "name", "note")
CSV_REQUIRED = ("date", "kind")
CSV_MAX_ROWS = 1000  # a year has some 35 special days; more is a wrong file

# what people type in the `kind` column besides the codes
KIND_WORDS = {
    "holiday": CalendarDayKind.HOLIDAY,
    "法定节假日": CalendarDayKind.HOLIDAY,
    "节假日": CalendarDayKind.HOLIDAY,
    "假日": CalendarDayKind.HOLIDAY,
    "休": CalendarDayKind.HOLIDAY,
    "workday": CalendarDayKind.WORKDAY,
    "调休上班": CalendarDayKind.WORKDAY,
    "调休": CalendarDayKind.WORKDAY,
    "上班": CalendarDayKind.WORKDAY,
    "班": CalendarDayKind.WORKDAY,
}
DATE_TEXT = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")

Change = Literal["created", "updated", "unchanged"]


def earliest_year() -> int:
    return workdays.library_years().start


def valid_year(year: int) -> bool:
    return earliest_year() <= year <= LATEST_YEAR


def default_year() -> int:
    """The year the office most likely works on: next year's schedule (published in November)."""
    return timezone.localdate().year + 1


# ---------------------------------------------------------------------------------------------
# Checks shared by the services
# ---------------------------------------------------------------------------------------------
def _require_editor(actor: User) -> None:
    if not can_edit_calendar(actor):
        raise PermissionDenied("forbidden", _("只有信用办工作人员可以维护节假日安排"))


def _kind_problem(kind: str) -> str | None:
    if not kind:
        return _("请填写类型")
    if kind not in KIND_WORDS:
        return _("类型应为 holiday（法定节假日）或 workday（调休上班），而不是“%(value)s”") % {
            "value": kind
        }
    return None


def _day_problem(day: date) -> str | None:
    if not valid_year(day.year):
        return _("只能录入 %(first)d 年至 %(last)d 年的日期") % {
            "first": earliest_year(),
            "last": LATEST_YEAR,
        }
    return None


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return _("不能超过 %(limit)d 个字") % {"limit": limit}
    return None


def _parse_date(text: str) -> date | None:
    match = DATE_TEXT.match(text)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _changed() -> None:
    transaction.on_commit(workdays.calendar_changed)


def _upsert(*, actor: User, day: date, kind: str, name: str, note: str, via: str) -> Change:
    """Create or change the row of `day`; inside a transaction, after the checks. The caller
    schedules `_changed()` once for all its rows."""
    row = CalendarDay.objects.select_for_update().filter(day=day).first()
    values = {"kind": kind, "name": name, "note": note}
    if row is None:
        try:
            with transaction.atomic():
                row = CalendarDay.objects.create(day=day, created_by=actor, **values)
        except IntegrityError as exc:
            raise Conflict("calendar_day_conflict", _("该日期刚被他人录入，请刷新后重试")) from exc
        audit(
            actor=actor,
            action="calendar.day_set",
            obj=row,
            data={"day": day.isoformat(), **values, "before": None, "via": via},
        )
        return "created"
    before = {k: getattr(row, k) for k in values}
    if before == values:
        return "unchanged"
    for k, v in values.items():
        setattr(row, k, v)
    # the row shows who entered its current content, and when; the audit keeps the history
    row.created_by, row.created_at = actor, timezone.now()
    row.save(
        update_fields=[*(k for k in values if before[k] != values[k]), "created_by", "created_at"]
    )
    audit(
        actor=actor,
        action="calendar.day_set",
        obj=row,
        data={"day": day.isoformat(), **values, "before": before, "via": via},
    )
    return "updated"


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------
def calendar_day_set(
    *, actor: User, day: date, kind: str, name: str = "", note: str = ""
) -> CalendarDay:
    """Enter one day as a holiday or a swapped workday, or change the entry it has."""
    _require_editor(actor)
    kind, name, note = kind.strip(), name.strip(), note.strip()
    checks = {
        "day": _day_problem(day),
        "kind": _kind_problem(kind),
        "name": _text_problem(name, NAME_MAX),
        "note": _text_problem(note, NOTE_MAX),
    }
    problems = {f: problem for f, problem in checks.items() if problem is not None}
    if problems:
        raise DomainError(
            "invalid",
            next(iter(problems.values())),
            detail={f: [problem] for f, problem in problems.items()},
        )
    with transaction.atomic():
        change = _upsert(
            actor=actor, day=day, kind=KIND_WORDS[kind], name=name, note=note, via="form"
        )
        if change != "unchanged":
            _changed()
    return CalendarDay.objects.select_related("created_by").get(day=day)


def calendar_day_delete(*, actor: User, day: date) -> None:
    """Remove an entered day: it falls back to the library's schedule or to Monday–Friday."""
    _require_editor(actor)
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(day=day).first()
        if row is None:
            raise NotFound("calendar_day_not_found", _("%(day)s 没有录入安排") % {"day": day})
        audit(
            actor=actor,
            action="calendar.day_deleted",
            obj=row,
            data={"day": day.isoformat(), "kind": row.kind, "name": row.name, "note": row.note},
        )
        row.delete()
        _changed()


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (the header is row 0), as the credit-data import counts
    field: str  # the CSV column
    message: str


@dataclass
class CalendarImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    years: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _check_row(
    number: int, row: Mapping[str, str | None], seen: dict[date, int]
) -> tuple[list[RowError], tuple[date, str, str, str] | None]:
    def text(column: str) -> str:
        return (row.get(column) or "").strip()

    errors: list[RowError] = []
    raw_date, kind, name, note = text("date"), text("kind"), text("name"), text("note")
    day = _parse_date(raw_date)
    if not raw_date:
        errors.append(RowError(number, "date", _("请填写日期")))
    elif day is None:
        errors.append(
            RowError(
                number, "date", _("日期“%(value)s”无效，应为 YYYY-MM-DD") % {"value": raw_date}
            )
        )
    elif problem := _day_problem(day):
        errors.append(RowError(number, "date", problem))
    elif day in seen:
        errors.append(RowError(number, "date", _("与第 %(row)d 行日期重复") % {"row": seen[day]}))
    if day is not None:
        seen.setdefault(day, number)
    if problem := _kind_problem(kind):
        errors.append(RowError(number, "kind", problem))
    if problem := _text_problem(name, NAME_MAX):
        errors.append(RowError(number, "name", problem))
    if problem := _text_problem(note, NOTE_MAX):
        errors.append(RowError(number, "note", problem))
    if errors or day is None:
        return errors, None
    return [], (day, KIND_WORDS[kind], name, note)


def calendar_import(
    *, actor: User, rows: Iterable[Mapping[str, str | None]]
) -> CalendarImportResult:
    """Enter many days at once (rows of a `date,kind,name,note` file): every row is checked
    first, and nothing is written unless all of them are right."""
    _require_editor(actor)
    errors: list[RowError] = []
    valid: list[tuple[date, str, str, str]] = []
    seen: dict[date, int] = {}
    for number, row in enumerate(rows, start=1):
        if number > CSV_MAX_ROWS:
            raise DomainError(
                "calendar_import_too_long",
                _("文件超过 %(limit)d 行，请按年度分开导入") % {"limit": CSV_MAX_ROWS},
            )
        row_errors, checked = _check_row(number, row, seen)
        errors += row_errors
        if checked is not None:
            valid.append(checked)
    if errors:
        raise DomainError(
            "calendar_import_invalid",
            _("文件有 %(count)d 处错误，未导入任何数据。第 %(row)d 行：%(message)s")
            % {"count": len(errors), "row": errors[0].row, "message": errors[0].message},
            detail={
                "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in errors]
            },
        )
    if not valid:
        raise DomainError("calendar_import_empty", _("文件中没有数据行"))
    result = CalendarImportResult()
    with transaction.atomic():
        for day, kind, name, note in valid:
            change = _upsert(actor=actor, day=day, kind=kind, name=name, note=note, via="import")
            setattr(result, change, getattr(result, change) + 1)
            result.years.add(day.year)
        if result.created or result.updated:
            _changed()
    return result


def read_calendar_csv(data: bytes) -> list[dict[str, str | None]]:
    """Rows of a CSV file (UTF-8 with or without BOM, or GB18030 as Excel saves it) with the
    columns `date,kind` and optionally `name,note`; blank lines are skipped."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = codecs.decode(data, encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError("calendar_csv_encoding", _("无法识别文件编码：请使用 UTF-8 或 GB18030"))
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise DomainError(
            "calendar_csv_columns",
            _("文件缺少列：%(columns)s（第一行应为 date,kind,name,note）")
            % {"columns": ", ".join(missing)},
            detail={"missing": missing},
        )
    rows: list[dict[str, str | None]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append({c: (values[i] if i < len(values) else None) for i, c in enumerate(header)})
    return rows


def calendar_year_confirm(*, actor: User, year: int, published_ref: str) -> CalendarYear:
    """Mark a year's schedule as completely entered ("已录入完整安排"), citing the State
    Council's notice; from then on its deadlines are no longer assumed."""
    _require_editor(actor)
    published_ref = published_ref.strip()
    if not published_ref:
        raise DomainError(
            "required",
            _("请填写国务院办公厅通知的文号"),
            detail={"published_ref": ["required"]},
        )
    if problem := _text_problem(published_ref, REF_MAX):
        raise DomainError("invalid", problem, detail={"published_ref": [problem]})
    if not valid_year(year):
        raise DomainError(
            "invalid_year",
            _("只能确认 %(first)d 年至 %(last)d 年的安排")
            % {"first": earliest_year(), "last": LATEST_YEAR},
        )
    if year in workdays.library_years():
        raise DomainError(
            "calendar_year_in_library",
            _("%(year)d 年的安排已内置于程序，无需确认") % {"year": year},
        )
    with transaction.atomic():
        holidays = CalendarDay.objects.filter(day__year=year, kind=CalendarDayKind.HOLIDAY)
        if not holidays.exists():
            raise DomainError(
                "calendar_year_empty",
                _("%(year)d 年还没有录入任何法定节假日，不能确认为完整安排") % {"year": year},
            )
        confirmation = CalendarYear.objects.select_for_update().filter(year=year).first()
        before = confirmation.published_ref if confirmation else None
        if confirmation is None:
            try:
                with transaction.atomic():
                    confirmation = CalendarYear.objects.create(
                        year=year, published_ref=published_ref, confirmed_by=actor
                    )
            except IntegrityError as exc:
                raise Conflict(
                    "calendar_year_conflict", _("该年度刚被他人确认，请刷新后重试")
                ) from exc
        else:
            confirmation.published_ref = published_ref
            confirmation.confirmed_by = actor
            confirmation.confirmed_at = timezone.now()
            confirmation.save(update_fields=["published_ref", "confirmed_by", "confirmed_at"])
        audit(
            actor=actor,
            action="calendar.year_confirmed",
            obj=confirmation,
            data={
                "year": year,
                "published_ref": published_ref,
                "before": before,
                "holidays": holidays.count(),
                "workdays": CalendarDay.objects.filter(
                    day__year=year, kind=CalendarDayKind.WORKDAY
                ).count(),
            },
        )
        _changed()
    return confirmation


# ---------------------------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleDay:
    day: date
    kind: str  # CalendarDayKind
    name: str
    origin: Literal["library", "entered"]
    note: str = ""
    replaces: str | None = None  # an entered day over a library day: the library's kind

    @property
    def kind_label(self) -> str:
        return str(CalendarDayKind(self.kind).label)

    @property
    def replaces_label(self) -> str:
        return str(CalendarDayKind(self.replaces).label) if self.replaces else ""


@dataclass(frozen=True)
class YearSchedule:
    year: int
    status: workdays.YearStatus
    confirmation: CalendarYear | None
    entered: list[CalendarDay]
    library: list[ScheduleDay]  # the package's days, read-only (empty outside its years)
    days: list[ScheduleDay]  # what counts: the library's days with the entered ones on top


def calendar_year_schedule(year: int) -> YearSchedule:
    """A year's schedule as the database has it now (not the ≤ 1 s old process table)."""
    entered = list(CalendarDay.objects.filter(day__year=year).select_related("created_by"))
    confirmation = CalendarYear.objects.filter(year=year).select_related("confirmed_by").first()
    library = [
        ScheduleDay(day=d, kind=kind, name=name, origin="library")
        for d, kind, name in workdays.library_schedule(year)
    ]
    by_day = {d.day: d for d in library}
    for row in entered:
        underneath = by_day.get(row.day)
        by_day[row.day] = ScheduleDay(
            day=row.day,
            kind=row.kind,
            name=row.name,
            origin="entered",
            note=row.note,
            replaces=underneath.kind if underneath else None,
        )
    status: workdays.YearStatus = (
        "library"
        if year in workdays.library_years()
        else ("entered" if confirmation else "assumed")
    )
    return YearSchedule(
        year=year,
        status=status,
        confirmation=confirmation,
        entered=entered,
        library=library,
        days=[by_day[d] for d in sorted(by_day)],
    )
