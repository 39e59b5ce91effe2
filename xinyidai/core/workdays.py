"""Working days on the Chinese holiday calendar (法定节假日 and 调休 swapped workdays).

The calendar comes from the `chinese_calendar` package (PyPI `chinesecalendar`), which knows
the State Council's schedule for a fixed range of years (2004–2026 in 1.11.0). Outside that
range the schedule is not published yet (or no longer kept), so those dates fall back to plain
Monday–Friday: a deadline in a year whose holidays are unknown is computed as if it had none.
Upgrade the package when the State Council publishes next year's schedule (usually in
November).

Counting is O(1) per call: working days of the supported range are turned into prefix sums
once, and Monday–Friday counts outside it have a closed form. A report that needs the working
days between many date pairs can call `working_days_between` for each distinct pair.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate

import chinese_calendar


@lru_cache(maxsize=1)
def _supported() -> tuple[int, int, tuple[int, ...]]:
    """(first ordinal, last ordinal, prefix sums) of the years the library has data for.

    prefix[i] = working days in [first, first + i].
    """
    years = [d.year for d in chinese_calendar.holidays]
    first, last = date(min(years), 1, 1), date(max(years), 12, 31)
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    prefix = tuple(accumulate(int(chinese_calendar.is_workday(d)) for d in days))
    return first.toordinal(), last.toordinal(), prefix


def supported_range() -> tuple[date, date]:
    """First and last day for which the holiday schedule is known."""
    lo, hi, _prefix = _supported()
    return date.fromordinal(lo), date.fromordinal(hi)


def _mon_fri_upto(ordinal: int) -> int:
    """Monday–Friday days in [ordinal 1, ordinal]; ordinal 1 (0001-01-01) is a Monday."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _working_days_upto(ordinal: int) -> int:
    """Working days from 0001-01-01 up to and including `ordinal` (a running total)."""
    lo, hi, prefix = _supported()
    if ordinal < lo:
        return _mon_fri_upto(ordinal)
    before = _mon_fri_upto(lo - 1)
    if ordinal <= hi:
        return before + prefix[ordinal - lo]
    return before + prefix[-1] + _mon_fri_upto(ordinal) - _mon_fri_upto(hi)


def is_working_day(day: date) -> bool:
    """True on a working day: the holiday schedule where known, else Monday–Friday."""
    lo, hi, _prefix = _supported()
    if lo <= day.toordinal() <= hi:
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`.

    A decision on Friday received on Monday took 1 working day; received the same day, 0.
    When `end` is before `start` the answer is negative (minus the working days after `end` up
    to and including `start`), so a wrong date shows up instead of being hidden as 0.
    """
    return _working_days_upto(end.toordinal()) - _working_days_upto(start.toordinal())


def add_working_days(day: date, n: int) -> date:
    """The `n`-th working day after `day` (`day` itself for n = 0): a deadline of n working days.

    Always `working_days_between(day, add_working_days(day, n)) == n`.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    # the first day whose running total reaches the target; the running total never decreases,
    # and 3n + 30 calendar days hold more than n working days even around the Spring Festival
    target = _working_days_upto(day.toordinal()) + n
    low, high = day.toordinal(), day.toordinal() + 3 * n + 30
    while low < high:
        middle = (low + high) // 2
        if _working_days_upto(middle) >= target:
            high = middle
        else:
            low = middle + 1
    return date.fromordinal(low)
