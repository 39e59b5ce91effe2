from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyidai.core import workdays
from xinyidai.core.workdays import (
    Deadline,
    add_working_days,
    due_date,
    is_working_day,
    supported_range,
    working_days_between,
    year_status,
)

# The calendar is the library's schedule plus the days the credit office entered (none here).
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    workdays.invalidate()
    yield
    workdays.invalidate()


def test_library_data_used_here() -> None:
    """The cases below rest on the State Council's 2026 schedule as the library ships it."""
    # 国庆 2026: 1–7 October off; Sunday 20 September and Saturday 10 October worked (调休)
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 1)) == (True, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 7)) == (True, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 8)) == (False, None)
    assert chinese_calendar.get_holiday_detail(date(2026, 9, 20)) == (False, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 10)) == (False, "National Day")


def test_same_day_and_next_day() -> None:
    assert working_days_between(date(2026, 11, 18), date(2026, 11, 18)) == 0
    assert working_days_between(date(2026, 11, 18), date(2026, 11, 19)) == 1
    # Friday → Monday: the weekend does not count
    assert working_days_between(date(2026, 11, 20), date(2026, 11, 23)) == 1


def test_national_day_holiday_is_skipped() -> None:
    # decided on the last working day before 国庆, received on the first one after it
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert not any(is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_swapped_workday_counts() -> None:
    # Sunday 20 September 2026 is a 调休 workday: Friday → Monday is 2 working days, not 1
    assert is_working_day(date(2026, 9, 20))
    assert working_days_between(date(2026, 9, 18), date(2026, 9, 21)) == 2
    # Saturday 10 October 2026 too: two working days after Thursday 8 October is that Saturday
    assert add_working_days(date(2026, 10, 8), 2) == date(2026, 10, 10)
    assert working_days_between(date(2026, 10, 9), date(2026, 10, 12)) == 2


def test_across_the_spring_festival() -> None:
    # 2026 春节: 15–23 February off, Saturday 14 and Saturday 28 February worked
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 14th and 24th
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)


def test_end_before_start_is_negative() -> None:
    assert working_days_between(date(2026, 10, 8), date(2026, 9, 30)) == -1


def test_outside_the_known_years_falls_back_to_monday_to_friday() -> None:
    first, last = supported_range()
    assert (first, last) == (date(2004, 1, 1), date(2026, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))
    # 2027-01-01 is a Friday; its New Year holiday is not published yet, so it counts
    assert is_working_day(date(2027, 1, 1))
    assert not is_working_day(date(2027, 1, 2))
    # Thursday 31 Dec 2026 (known) → Monday 4 Jan 2027 (fallback): Fri 1 Jan and Mon 4 Jan
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 2
    assert add_working_days(date(2026, 12, 31), 2) == date(2027, 1, 4)
    # before 2004 as well: Wednesday 31 Dec 2003 → Friday 2 Jan 2004 (1 Jan 2004 was a holiday)
    assert is_working_day(date(2003, 12, 31))
    assert working_days_between(date(2003, 12, 30), date(2004, 1, 2)) == 2
    # long spans beyond the data are counted in closed form
    assert working_days_between(date(2030, 1, 6), date(2030, 2, 3)) == 20


def test_year_status_and_deadlines_outside_the_known_years() -> None:
    assert [year_status(y) for y in (2003, 2004, 2026, 2027)] == [
        "assumed",
        "library",
        "library",
        "assumed",
    ]
    assert due_date(date(2026, 12, 31), 2) == Deadline(date(2027, 1, 4), (2027,))
    assert due_date(date(2026, 12, 30), 1) == Deadline(date(2026, 12, 31), ())
    assert due_date(date(2026, 12, 31), 0) == Deadline(date(2026, 12, 31), ())
    assert not due_date(date(2026, 12, 30), 1).assumed


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 10, 8), -1)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


@given(days, st.integers(min_value=0, max_value=400))
def test_matches_a_day_by_day_count(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    expected = sum(is_working_day(start + timedelta(days=i)) for i in range(1, span + 1))
    assert working_days_between(start, end) == expected
    assert working_days_between(end, start) == -expected


@given(days, st.integers(min_value=0, max_value=300))
def test_add_is_the_first_day_reaching_n(day: date, n: int) -> None:
    result = add_working_days(day, n)
    assert working_days_between(day, result) == n
    if n:
        assert is_working_day(result)
        assert working_days_between(day, result - timedelta(days=1)) == n - 1
