"""The holiday calendar: library years, years the credit office enters, assumed years, the
process table and its version, the services, the page and the API."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from django.core.cache import cache
from django.utils import timezone

from xinyidai.core import workdays
from xinyidai.core.calendar import (
    calendar_day_delete,
    calendar_day_set,
    calendar_import,
    calendar_year_confirm,
    calendar_year_schedule,
    read_calendar_csv,
)
from xinyidai.core.errors import DomainError, NotFound, PermissionDenied
from xinyidai.core.models import AuditEvent, CalendarDay, CalendarYear
from xinyidai.core.workdays import Deadline, due_date, is_working_day, year_status

pytestmark = pytest.mark.django_db

PAGE = "/office/calendar/"
API_DAYS = "/api/v1/calendar/days/"

# A made-up 2027 Spring Festival, only for these tests (the real schedule is the State
# Council's): Saturday 6 to Friday 12 February off, Saturday 13 February worked.
TEST_2027 = [
    *(
        {"date": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节", "note": "测试数据"}
        for d in range(6, 13)
    ),
    {"date": "2027-02-13", "kind": "workday", "name": "春节", "note": "测试数据"},
]


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    """Each test builds the working-day table from its own rows."""
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the after-commit version bump as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def enter_2027(actor: Any, committed: Any, *, confirm: bool) -> None:
    with committed():
        calendar_import(actor=actor, rows=TEST_2027)
        if confirm:
            calendar_year_confirm(actor=actor, year=2027, published_ref="测试文号〔2026〕1号")


# ---------------------------------------------------------------------------------------------
# Library years: 2026 National Day
# ---------------------------------------------------------------------------------------------
def test_the_library_2026_national_day_schedule() -> None:
    """The dates below are the package's own: 1–7 October off, 20 Sep and 10 Oct worked."""
    off = sorted(
        d for d, n in chinese_calendar.holidays.items() if d.year == 2026 and n == "National Day"
    )
    worked = sorted(
        d for d, n in chinese_calendar.workdays.items() if d.year == 2026 and n == "National Day"
    )
    assert off == [date(2026, 10, d) for d in range(1, 8)]
    assert worked == [date(2026, 9, 20), date(2026, 10, 10)]
    assert [d.weekday() for d in worked] == [6, 5]  # a Sunday and a Saturday


def test_due_dates_across_the_2026_national_day() -> None:
    assert year_status(2026) == "library"
    # Wednesday 30 September: 1 working day later is Thursday 8 October, after the holiday
    assert due_date(date(2026, 9, 30), 1) == Deadline(date(2026, 10, 8), ())
    # 3 working days: 8 and 9 October, then the swapped Saturday 10 October
    assert due_date(date(2026, 9, 30), 3) == Deadline(date(2026, 10, 10), ())
    assert due_date(date(2026, 9, 30), 4) == Deadline(date(2026, 10, 12), ())
    # the swapped Sunday 20 September counts: Friday 18 September + 1 is that Sunday
    assert due_date(date(2026, 9, 18), 1).due == date(2026, 9, 20)
    assert is_working_day(date(2026, 9, 20)) and not is_working_day(date(2026, 9, 19))
    assert due_date(date(2026, 9, 30), 0) == Deadline(date(2026, 9, 30), ())


def test_a_moment_is_counted_from_its_beijing_day() -> None:
    # 23:30 UTC on 30 September is 07:30 on 1 October in Beijing: the holiday has begun
    late = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)
    assert due_date(late, 1).due == date(2026, 10, 8)
    assert due_date(late, 0).due == date(2026, 10, 1)
    assert due_date(datetime(2026, 10, 9, 18, 0, tzinfo=workdays.BEIJING), 1).due == date(
        2026, 10, 10
    )


# ---------------------------------------------------------------------------------------------
# Years the library does not know
# ---------------------------------------------------------------------------------------------
def test_2027_with_nothing_entered_is_assumed_and_never_raises() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 2, 8))
    assert year_status(2027) == "assumed"
    # Friday 5 February 2027 → Monday 8 February, by weekends only
    assert due_date(date(2027, 2, 5), 1) == Deadline(date(2027, 2, 8), (2027,))
    # from the last known day: Thursday 31 Dec 2026 → Friday 1 Jan 2027 (no New Year known)
    assert due_date(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 1), (2027,))
    # a span over two unknown years names both; far years work too
    assert due_date(date(2027, 12, 30), 3) == Deadline(date(2028, 1, 4), (2027, 2028))
    assert due_date(date(2090, 6, 1), 10).assumed_years == (2090,)
    assert due_date(date(2026, 12, 1), 5).assumed_years == ()


def test_a_sample_2027_schedule_moves_the_dates(credit_office: Any, committed: Any) -> None:
    workdays.is_working_day(date(2027, 2, 8))  # the table is built before the office acts
    enter_2027(credit_office, committed, confirm=False)
    # entered but not confirmed: the days count, the year is still assumed
    assert year_status(2027) == "assumed"
    assert due_date(date(2027, 2, 5), 1) == Deadline(date(2027, 2, 13), (2027,))

    with committed():
        calendar_year_confirm(actor=credit_office, year=2027, published_ref="测试文号〔2026〕1号")
    assert year_status(2027) == "entered"
    # Friday 5 Feb: 6–12 off, Saturday 13 worked, Sunday 14 off, Monday 15
    assert due_date(date(2027, 2, 5), 1) == Deadline(date(2027, 2, 13), ())
    assert due_date(date(2027, 2, 5), 2) == Deadline(date(2027, 2, 15), ())
    assert workdays.working_days_between(date(2027, 2, 5), date(2027, 2, 15)) == 2
    # 2028 is not entered: a deadline reaching it says so
    assert due_date(date(2027, 12, 30), 3).assumed_years == (2028,)


def test_an_entered_day_wins_over_the_library(credit_office: Any, committed: Any) -> None:
    assert due_date(date(2026, 9, 30), 1).due == date(2026, 10, 8)
    with committed():
        calendar_day_set(actor=credit_office, day=date(2026, 10, 8), kind="holiday", name="测试")
        calendar_day_set(actor=credit_office, day=date(2026, 10, 5), kind="workday")
    assert not is_working_day(date(2026, 10, 8))
    assert is_working_day(date(2026, 10, 5))  # a library holiday, now worked
    # from 30 Sep: Mon 5 Oct (worked), then Fri 9 Oct (8 Oct off)
    assert due_date(date(2026, 9, 30), 1).due == date(2026, 10, 5)
    assert due_date(date(2026, 9, 30), 2).due == date(2026, 10, 9)
    assert year_status(2026) == "library"

    with committed():
        calendar_day_delete(actor=credit_office, day=date(2026, 10, 5))
        calendar_day_delete(actor=credit_office, day=date(2026, 10, 8))
    assert due_date(date(2026, 9, 30), 1).due == date(2026, 10, 8)


def test_a_row_on_a_weekday_far_ahead_extends_the_table(credit_office: Any, committed: Any) -> None:
    with committed():
        calendar_day_set(actor=credit_office, day=date(2031, 3, 3), kind="holiday")  # a Monday
    assert not is_working_day(date(2031, 3, 3))
    assert due_date(date(2031, 2, 28), 1).due == date(2031, 3, 4)
    assert workdays.working_days_between(date(2026, 12, 31), date(2032, 1, 1)) == (
        sum(
            is_working_day(date(2026, 12, 31) + timedelta(days=i))
            for i in range(1, (date(2032, 1, 1) - date(2026, 12, 31)).days + 1)
        )
    )


def test_a_very_long_entered_break_still_finds_the_deadline(
    credit_office: Any, committed: Any
) -> None:
    rows = [
        {"date": (date(2029, 1, 1) + timedelta(days=i)).isoformat(), "kind": "holiday"}
        for i in range(120)
    ]
    with committed():
        calendar_import(actor=credit_office, rows=rows)
    # the first working day after 120 days off (1 Jan – 30 Apr 2029) is Tuesday 1 May
    assert due_date(date(2028, 12, 29), 1).due == date(2029, 5, 1)


# ---------------------------------------------------------------------------------------------
# The process table and the shared version
# ---------------------------------------------------------------------------------------------
def test_other_processes_rebuild_when_the_version_moves(
    credit_office: Any, monkeypatch: Any
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(
        workdays, "time", types.SimpleNamespace(monotonic=lambda: clock[0], time_ns=lambda: 7)
    )
    reads: list[str] = []

    class CountingCache:
        def get(self, key: str) -> Any:
            reads.append(key)
            return cache.get(key)

        def __getattr__(self, name: str) -> Any:
            return getattr(cache, name)

    monkeypatch.setattr(workdays, "cache", CountingCache())

    assert is_working_day(date(2026, 10, 8))
    # another process enters a day: written, committed, but this process was not told yet
    CalendarDay.objects.create(day=date(2026, 10, 8), kind="holiday", created_by=credit_office)
    for _ in range(1000):  # at most one look at the shared version per second
        assert is_working_day(date(2026, 10, 8))
    assert len(reads) == 1
    clock[0] += 1.5
    assert is_working_day(date(2026, 10, 8))  # looked again: the version has not moved
    assert len(reads) == 2

    cache.set(workdays.VERSION_KEY, 41, timeout=None)  # the other process bumps after commit
    assert is_working_day(date(2026, 10, 8))  # within the second: still the old table
    clock[0] += 1.5
    assert not is_working_day(date(2026, 10, 8))  # rebuilt
    assert len(reads) == 3

    # the version is counted up; an evicted key is set again to a fresh value
    workdays.calendar_changed()
    assert cache.get(workdays.VERSION_KEY) == 42
    cache.delete(workdays.VERSION_KEY)
    workdays.calendar_changed()
    assert cache.get(workdays.VERSION_KEY) == 7


def test_the_writing_process_rebuilds_after_commit(credit_office: Any, committed: Any) -> None:
    assert is_working_day(date(2026, 10, 9))
    with committed() as callbacks:
        calendar_day_set(actor=credit_office, day=date(2026, 10, 9), kind="holiday")
        assert is_working_day(date(2026, 10, 9))  # not committed yet: nothing changes
    assert len(callbacks) == 1
    assert cache.get(workdays.VERSION_KEY) is not None
    assert not is_working_day(date(2026, 10, 9))


def test_a_table_dropped_from_memory_is_rebuilt_from_the_database(credit_office: Any) -> None:
    """A second process (simulated by forgetting this one's table) sees the committed rows."""
    assert is_working_day(date(2026, 10, 9))
    calendar_day_set(actor=credit_office, day=date(2026, 10, 9), kind="holiday")
    assert is_working_day(date(2026, 10, 9))  # the after-commit bump has not run
    workdays.invalidate()
    assert not is_working_day(date(2026, 10, 9))


def test_an_unreadable_cache_keeps_the_table(monkeypatch: Any) -> None:
    assert is_working_day(date(2026, 10, 9))
    table = workdays._table

    class Down:
        def __getattr__(self, name: str) -> Any:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(workdays, "cache", Down())
    monkeypatch.setattr(workdays, "_checked_at", float("-inf"))
    assert is_working_day(date(2026, 10, 9))
    assert workdays._table is table
    workdays.calendar_changed()  # logged, not raised
    assert is_working_day(date(2026, 10, 9))  # rebuilt from the database all the same


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------
def test_day_set_creates_updates_and_audits(credit_office: Any, committed: Any) -> None:
    with committed():
        row = calendar_day_set(
            actor=credit_office, day=date(2027, 10, 1), kind="holiday", name=" 国庆节 ", note="X"
        )
    assert (row.kind, row.name, row.note, row.created_by) == (
        "holiday",
        "国庆节",
        "X",
        credit_office,
    )
    # the same again: nothing changes, nothing is audited, the version stays
    version = cache.get(workdays.VERSION_KEY)
    with committed() as callbacks:
        calendar_day_set(
            actor=credit_office, day=date(2027, 10, 1), kind="holiday", name="国庆节", note="X"
        )
    assert callbacks == []
    assert cache.get(workdays.VERSION_KEY) == version
    calendar_day_set(
        actor=credit_office, day=date(2027, 10, 1), kind="法定节假日", name="国庆节", note="Y"
    )
    events = list(AuditEvent.objects.filter(action="calendar.day_set").order_by("id"))
    assert [e.data["note"] for e in events] == ["X", "Y"]
    assert events[0].data["before"] is None
    assert events[1].data["before"] == {"kind": "holiday", "name": "国庆节", "note": "X"}
    assert (events[1].object_type, events[1].object_id) == ("core.calendarday", str(row.pk))
    assert CalendarDay.objects.get().note == "Y"


def test_day_set_refuses_bad_input(credit_office: Any) -> None:
    with pytest.raises(DomainError) as exc:
        calendar_day_set(actor=credit_office, day=date(2027, 1, 1), kind="rest", name="元" * 51)
    assert exc.value.code == "invalid"
    assert set(exc.value.detail) == {"kind", "name"}
    with pytest.raises(DomainError) as exc:
        calendar_day_set(actor=credit_office, day=date(2003, 1, 1), kind="holiday")
    assert exc.value.detail == {"day": ["只能录入 2004 年至 2099 年的日期"]}
    assert not CalendarDay.objects.exists()


def test_delete_audits_and_refuses_an_unknown_day(credit_office: Any) -> None:
    calendar_day_set(actor=credit_office, day=date(2027, 1, 1), kind="holiday", name="元旦")
    calendar_day_delete(actor=credit_office, day=date(2027, 1, 1))
    assert not CalendarDay.objects.exists()
    event = AuditEvent.objects.get(action="calendar.day_deleted")
    assert event.data == {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "note": ""}
    with pytest.raises(NotFound):
        calendar_day_delete(actor=credit_office, day=date(2027, 1, 1))


@pytest.mark.parametrize(
    "role",
    [
        "plain_user",
        "enterprise_owner",
        "bank_admin",
        "bank_officer",
        "trading_centre",
        "data_source",
    ],
)
def test_only_the_office_changes_the_calendar(role: str, request: Any, credit_office: Any) -> None:
    user = request.getfixturevalue(role)
    calendar_day_set(actor=credit_office, day=date(2027, 2, 6), kind="holiday")
    attempts = [
        lambda: calendar_day_set(actor=user, day=date(2027, 2, 7), kind="holiday"),
        lambda: calendar_day_delete(actor=user, day=date(2027, 2, 6)),
        lambda: calendar_import(actor=user, rows=TEST_2027),
        lambda: calendar_year_confirm(actor=user, year=2027, published_ref="x"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert list(CalendarDay.objects.values_list("day", flat=True)) == [date(2027, 2, 6)]
    assert not CalendarYear.objects.exists()


def test_superuser_may_change_the_calendar(superuser: Any) -> None:
    calendar_day_set(actor=superuser, day=date(2027, 2, 6), kind="holiday")
    assert (
        calendar_year_confirm(actor=superuser, year=2027, published_ref="x").confirmed_by
        == superuser
    )


def test_import_reports_every_bad_row_and_writes_nothing(credit_office: Any) -> None:
    calendar_day_set(actor=credit_office, day=date(2027, 2, 6), kind="holiday", name="原有")
    audits = AuditEvent.objects.count()
    rows = [
        {"date": "2027-02-06", "kind": "workday", "name": "春节", "note": ""},  # fine
        {"date": "2027-02-30", "kind": "holiday", "name": "", "note": ""},
        {"date": "", "kind": "休息", "name": "", "note": ""},
        {"date": "2027/2/6", "kind": "holiday", "name": "春" * 51, "note": ""},
        {"date": "1999-01-01", "kind": "", "name": "", "note": ""},
        {"date": "7 Feb 2027", "kind": "holiday"},
    ]
    with pytest.raises(DomainError) as exc:
        calendar_import(actor=credit_office, rows=rows)
    assert exc.value.code == "calendar_import_invalid"
    assert exc.value.message.startswith("文件有 8 处错误，未导入任何数据。第 2 行：")
    assert [(e["row"], e["field"], e["message"]) for e in exc.value.detail["errors"]] == [
        (2, "date", "日期“2027-02-30”无效，应为 YYYY-MM-DD"),
        (3, "date", "请填写日期"),
        (3, "kind", "类型应为 holiday（法定节假日）或 workday（调休上班），而不是“休息”"),
        (4, "date", "与第 1 行日期重复"),
        (4, "name", "不能超过 50 个字"),
        (5, "date", "只能录入 2004 年至 2099 年的日期"),
        (5, "kind", "请填写类型"),
        (6, "date", "日期“7 Feb 2027”无效，应为 YYYY-MM-DD"),
    ]
    # atomic: the good first row did not change the existing day
    assert list(CalendarDay.objects.values_list("day", "kind", "name")) == [
        (date(2027, 2, 6), "holiday", "原有")
    ]
    assert AuditEvent.objects.count() == audits


def test_import_writes_all_rows_and_counts(credit_office: Any, committed: Any) -> None:
    calendar_day_set(
        actor=credit_office, day=date(2027, 2, 6), kind="holiday", name="春节", note="测试数据"
    )
    calendar_day_set(actor=credit_office, day=date(2027, 2, 7), kind="workday")
    with committed() as callbacks:
        result = calendar_import(actor=credit_office, rows=TEST_2027)
    assert (result.created, result.updated, result.unchanged, result.years) == (6, 1, 1, {2027})
    assert len(callbacks) == 1  # one version bump for the whole file
    assert CalendarDay.objects.filter(day__year=2027, kind="holiday").count() == 7
    assert AuditEvent.objects.filter(action="calendar.day_set", data__via="import").count() == 7
    with pytest.raises(DomainError) as exc:
        calendar_import(actor=credit_office, rows=[])
    assert exc.value.code == "calendar_import_empty"


def test_read_csv_accepts_excel_files_and_checks_the_columns() -> None:
    text = (
        "Date,Kind,name,note\r\n"
        "2027/2/6,休,春节,国办发明电〔2026〕X号\r\n"
        ",,,\r\n"
        "2027-02-13,班,,\r\n"
    )
    rows = read_calendar_csv(text.encode("gb18030"))
    assert rows == [
        {"date": "2027/2/6", "kind": "休", "name": "春节", "note": "国办发明电〔2026〕X号"},
        {"date": "2027-02-13", "kind": "班", "name": "", "note": ""},
    ]
    assert read_calendar_csv(("\ufeff" + text).encode()) == rows
    assert read_calendar_csv(b"date,kind\n2027-02-06,holiday\n") == [
        {"date": "2027-02-06", "kind": "holiday"}
    ]
    with pytest.raises(DomainError) as exc:
        read_calendar_csv("日期,类型\n2027-02-06,holiday\n".encode())
    assert (exc.value.code, exc.value.detail) == (
        "calendar_csv_columns",
        {"missing": ["date", "kind"]},
    )


def test_confirm_a_year(credit_office: Any, superuser: Any) -> None:
    with pytest.raises(DomainError) as exc:
        calendar_year_confirm(actor=credit_office, year=2027, published_ref="国办发明电〔2026〕1号")
    assert exc.value.code == "calendar_year_empty"
    with pytest.raises(DomainError) as exc:
        calendar_year_confirm(actor=credit_office, year=2026, published_ref="国办发明电〔2025〕7号")
    assert exc.value.code == "calendar_year_in_library"
    calendar_import(actor=credit_office, rows=TEST_2027)
    with pytest.raises(DomainError) as exc:
        calendar_year_confirm(actor=credit_office, year=2027, published_ref="  ")
    assert (exc.value.code, exc.value.detail) == ("required", {"published_ref": ["required"]})

    confirmed = calendar_year_confirm(actor=credit_office, year=2027, published_ref="文号一")
    assert (confirmed.year, confirmed.published_ref, confirmed.confirmed_by) == (
        2027,
        "文号一",
        credit_office,
    )
    calendar_year_confirm(actor=superuser, year=2027, published_ref="文号二")
    again = CalendarYear.objects.get()
    assert (again.published_ref, again.confirmed_by) == ("文号二", superuser)
    events = AuditEvent.objects.filter(action="calendar.year_confirmed").order_by("id")
    assert [(e.data["published_ref"], e.data["before"]) for e in events] == [
        ("文号一", None),
        ("文号二", "文号一"),
    ]
    assert events[0].data["holidays"] == 7 and events[0].data["workdays"] == 1


def test_year_schedule_lays_entered_days_over_the_library(credit_office: Any) -> None:
    calendar_day_set(actor=credit_office, day=date(2026, 10, 7), kind="workday", name="测试")
    schedule = calendar_year_schedule(2026)
    assert schedule.status == "library"
    national_day = [d for d in schedule.days if date(2026, 9, 20) <= d.day <= date(2026, 10, 10)]
    assert [(d.day.isoformat(), d.kind, d.name, d.origin) for d in national_day] == [
        ("2026-09-20", "workday", "国庆节", "library"),
        ("2026-09-25", "holiday", "中秋", "library"),
        ("2026-09-26", "holiday", "中秋", "library"),
        ("2026-09-27", "holiday", "中秋", "library"),
        *((f"2026-10-0{d}", "holiday", "国庆节", "library") for d in range(1, 7)),
        ("2026-10-07", "workday", "测试", "entered"),
        ("2026-10-10", "workday", "国庆节", "library"),
    ]
    assert national_day[-2].replaces == "holiday"
    assert len(schedule.library) == 33 + 6


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
def test_page_defaults_to_next_year_and_says_it_is_assumed(credit_office: Any, login: Any) -> None:
    response = login(credit_office).get(PAGE)
    assert response.status_code == 200
    next_year = timezone.localdate().year + 1
    assert response.context["year"] == next_year
    html = response.content.decode()
    assert 'data-status="assumed"' in html
    assert "尚未录入完整安排" in html
    assert "确认本年度安排已完整录入" in html
    assert login(credit_office).get(PAGE + "?year=1999").status_code == 404
    assert login(credit_office).get(PAGE + "?year=abc").status_code == 404


def test_page_shows_the_library_days_read_only(credit_office: Any, login: Any) -> None:
    html = login(credit_office).get(PAGE + "?year=2026").content.decode()
    assert 'data-status="library"' in html
    assert 'data-day="2026-10-01" data-kind="holiday" data-origin="library"' in html
    assert 'data-day="2026-10-10" data-kind="workday" data-origin="library"' in html
    assert 'name="action" value="delete"' not in html  # nothing entered, nothing to delete
    assert "edit=2026-10-01" not in html
    assert 'id="confirm-form"' not in html

    calendar_day_set(actor=credit_office, day=date(2026, 10, 7), kind="workday", name="测试")
    html = login(credit_office).get(PAGE + "?year=2026").content.decode()
    assert 'data-day="2026-10-07" data-kind="workday" data-origin="entered"' in html
    assert "覆盖内置安排（法定节假日）" in html
    assert "edit=2026-10-07" in html


def test_page_enters_edits_and_deletes_a_day(credit_office: Any, login: Any) -> None:
    client = login(credit_office)
    response = client.post(
        PAGE + "?year=2027",
        {
            "action": "set",
            "day-day": "2027-02-06",
            "day-kind": "holiday",
            "day-name": "春节",
            "day-note": "测试数据",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE + "?year=2027"
    row = CalendarDay.objects.get()
    assert (row.day, row.kind, row.name, row.note) == (
        date(2027, 2, 6),
        "holiday",
        "春节",
        "测试数据",
    )
    html = client.get(PAGE + "?year=2027").content.decode()
    assert 'data-day="2027-02-06" data-kind="holiday" data-origin="entered"' in html
    assert "本年度的期限按周末推算，并计入已录入的 1 个日期" in html

    edit = client.get(PAGE + "?year=2027&edit=2027-02-06")
    assert edit.context["day_form"].initial == {
        "day": "2027-02-06",
        "kind": "holiday",
        "name": "春节",
        "note": "测试数据",
    }
    assert 'value="2027-02-06"' in edit.content.decode()

    # an invalid form comes back with the input kept
    response = client.post(
        PAGE + "?year=2027",
        {"action": "set", "day-day": "2027-02-31", "day-kind": "holiday", "day-name": "春节"},
    )
    assert response.status_code == 200
    assert response.context["day_form"].errors["day"]
    assert 'value="春节"' in response.content.decode()

    response = client.post(PAGE + "?year=2027", {"action": "delete", "day": "2027-02-06"})
    assert response.status_code == 302
    assert not CalendarDay.objects.exists()
    assert client.post(PAGE, {"action": "nonsense"}).status_code == 400


def test_page_imports_a_csv_and_lists_errors_per_row(credit_office: Any, login: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(credit_office)
    bad = "date,kind,name,note\n2027-02-06,holiday,春节,\n2027-02-31,rest,春节,\n"
    response = client.post(
        PAGE + "?year=2027",
        {"action": "import", "csv-file": SimpleUploadedFile("2027.csv", bad.encode())},
    )
    assert response.status_code == 200
    assert [(e["row"], e["field"]) for e in response.context["import_errors"]] == [
        (2, "date"),
        (2, "kind"),
    ]
    html = response.content.decode()
    assert 'id="import-errors"' in html and "而不是“rest”" in html
    assert not CalendarDay.objects.exists()

    good = "date,kind,name,note\n" + "".join(
        f"{r['date']},{r['kind']},{r['name']},{r['note']}\n" for r in TEST_2027
    )
    response = client.post(
        PAGE + "?year=2027",
        {"action": "import", "csv-file": SimpleUploadedFile("2027.csv", good.encode("gb18030"))},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.count() == 8

    response = client.post(
        PAGE + "?year=2027", {"action": "confirm", "confirm-published_ref": "测试文号"}
    )
    assert response.status_code == 302
    html = client.get(PAGE + "?year=2027").content.decode()
    assert 'data-status="entered"' in html and "测试文号" in html
    assert CalendarYear.objects.get().confirmed_by == credit_office


def test_page_confirm_of_an_empty_year_is_refused_on_the_form(
    credit_office: Any, login: Any
) -> None:
    response = login(credit_office).post(
        PAGE + "?year=2028", {"action": "confirm", "confirm-published_ref": "测试文号"}
    )
    assert response.status_code == 200
    assert response.context["confirm_form"].non_field_errors() == [
        "2028 年还没有录入任何法定节假日，不能确认为完整安排"
    ]
    assert not CalendarYear.objects.exists()


def test_nav_link_for_the_office(credit_office: Any, bank_admin: Any, login: Any) -> None:
    assert f'href="{PAGE}">节假日</a>' in login(credit_office).get("/").content.decode()
    assert PAGE not in login(bank_admin).get("/").content.decode()


# ---------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------
def test_api_reads_a_library_year(bank_officer: Any, login: Any) -> None:
    body = login(bank_officer).get(API_DAYS + "?year=2026").json()
    assert (body["year"], body["status"], body["published_ref"], body["confirmed_at"]) == (
        2026,
        "library",
        None,
        None,
    )
    assert {
        "day": "2026-10-01",
        "kind": "holiday",
        "kind_label": "法定节假日",
        "name": "国庆节",
        "note": "",
        "origin": "library",
    } in body["days"]
    assert [d["day"] for d in body["days"]] == sorted(d["day"] for d in body["days"])


def test_api_enters_and_confirms_a_year(
    credit_office: Any, enterprise_owner: Any, login: Any
) -> None:
    office = login(credit_office)
    assert office.get(API_DAYS + "?year=2027").json() == {
        "year": 2027,
        "status": "assumed",
        "published_ref": None,
        "confirmed_at": None,
        "days": [],
    }
    response = office.post(
        API_DAYS,
        {"day": "2027-02-06", "kind": "holiday", "name": "春节", "note": "测试数据"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["days"] == [
        {
            "day": "2027-02-06",
            "kind": "holiday",
            "kind_label": "法定节假日",
            "name": "春节",
            "note": "测试数据",
            "origin": "entered",
        }
    ]
    response = office.post(
        "/api/v1/calendar/years/2027/confirm/",
        {"published_ref": "测试文号〔2026〕1号"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["published_ref"]) == ("entered", "测试文号〔2026〕1号")
    assert body["confirmed_at"] is not None
    # anyone signed in reads it
    assert login(enterprise_owner).get(API_DAYS + "?year=2027").json()["status"] == "entered"


def test_api_errors_have_the_project_shape(credit_office: Any, bank_admin: Any, login: Any) -> None:
    office = login(credit_office)
    response = office.get(API_DAYS + "?year=20x7")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_year",
        "message": "年份应为 2004 至 2099 之间的整数",
        "detail": {"year": ["20x7"]},
    }
    response = office.post(
        API_DAYS, {"day": "2027-02-06", "kind": "rest"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["detail"]) == {"kind"}
    response = office.post(
        "/api/v1/calendar/years/2031/confirm/",
        {"published_ref": "x"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "calendar_year_empty")
    response = login(bank_admin).post(
        API_DAYS, {"day": "2027-02-06", "kind": "holiday"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "detail"}
    assert not CalendarDay.objects.exists()
