"""Working days on the Chinese holiday calendar (法定节假日 and 调休 swapped workdays).

A day's status comes from, in this order:

1. a `CalendarDay` row entered by the credit office (page 节假日 at /office/calendar/, CSV
   import or API): a holiday or a swapped workday, whatever the rest says;
2. the `chinese_calendar` package (PyPI `chinesecalendar`), which ships the State Council's
   schedule for a fixed range of years (2004–2026 in 1.11.0);
3. Monday to Friday.

A year is "library" when the package knows it, "entered" once the office has confirmed that
its whole schedule is in (`CalendarYear`), else "assumed": weekends off plus whatever days were
entered. An assumed year never raises; `due_date` names the assumed years a deadline crossed
so that callers can say the deadline was computed by weekends only.

Counting is O(1) per call: the working days of [first library year, last known year] are
turned into prefix sums, and Monday–Friday counts outside have a closed form. The table is
built lazily once per process and rebuilt when the calendar changes: the services in
`xinyidai.core.calendar` bump a version number in the shared cache after commit, and each
process compares it with its table's at most once per second, so a call in between costs a
clock read. A report that needs many date pairs can call `working_days_between` for each.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar
from django.core.cache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "calendar:version"
CHECK_INTERVAL = 1.0  # seconds between two looks at the shared version, per process
BEIJING = ZoneInfo("Asia/Shanghai")  # deadlines run on Beijing days, whatever the server's zone

YearStatus = Literal["library", "entered", "assumed"]


@dataclass(frozen=True)
class Deadline:
    """A due date, and the years on the way whose holidays were not known (weekends only)."""

    due: date
    assumed_years: tuple[int, ...] = ()

    @property
    def assumed(self) -> bool:
        return bool(self.assumed_years)


@dataclass(frozen=True, eq=False)
class _Table:
    version: object  # the shared version it was built for
    lo: int  # ordinal of the first day of the table (1 January of the first library year)
    hi: int  # ordinal of its last day (31 December of the last library or entered year)
    before: int  # Monday–Friday days before `lo`
    prefix: tuple[int, ...]  # prefix[i] = working days in [lo, lo + i]
    confirmed: frozenset[int]  # years whose schedule the office confirmed complete


# ---------------------------------------------------------------------------------------------
# The library's schedule
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _library() -> tuple[int, int, tuple[int, ...]]:
    """(first year, last year, 1 per working day from 1 January of the first year)."""
    years = [d.year for d in chinese_calendar.holidays]
    first, last = min(years), max(years)
    start = date(first, 1, 1)
    total = (date(last, 12, 31) - start).days + 1
    flags = tuple(int(chinese_calendar.is_workday(start + timedelta(days=i))) for i in range(total))
    return first, last, flags


def supported_range() -> tuple[date, date]:
    """First and last day of the years the `chinese_calendar` package knows. Years entered by
    the credit office are in `year_status`."""
    first, last, _flags = _library()
    return date(first, 1, 1), date(last, 12, 31)


def library_years() -> range:
    first, last, _flags = _library()
    return range(first, last + 1)


def library_schedule(year: int) -> list[tuple[date, str, str]]:
    """(day, "holiday" | "workday", Chinese name) of the package's special days in `year`,
    by date; empty for a year it does not know."""
    days = [(d, "holiday", n) for d, n in chinese_calendar.holidays.items() if d.year == year]
    days += [(d, "workday", n) for d, n in chinese_calendar.workdays.items() if d.year == year]
    return sorted((d, kind, _chinese_name(name)) for d, kind, name in days)


def _chinese_name(name: str) -> str:
    try:
        return str(chinese_calendar.Holiday(name).chinese)
    except ValueError:
        return name


# ---------------------------------------------------------------------------------------------
# The process's table and its version
# ---------------------------------------------------------------------------------------------
_UNKNOWN = object()  # the version of a table built while the cache could not be read
_table: _Table | None = None
_checked_at = float("-inf")


def _build(version: object) -> _Table:
    from xinyidai.core.models import CalendarDay, CalendarDayKind, CalendarYear

    first, last, library = _library()
    lo = date(first, 1, 1).toordinal()
    rows = list(
        CalendarDay.objects.filter(day__gte=date(first, 1, 1)).order_by().values_list("day", "kind")
    )
    confirmed = frozenset(CalendarYear.objects.order_by().values_list("year", flat=True))
    last_year = max([last, *(day.year for day, _kind in rows), *confirmed])
    hi = date(last_year, 12, 31).toordinal()
    flags = list(library)
    # Monday–Friday after the library's last year; ordinal 1 (0001-01-01) is a Monday
    flags += [int((o - 1) % 7 < 5) for o in range(lo + len(flags), hi + 1)]
    for day, kind in rows:
        flags[day.toordinal() - lo] = int(kind == CalendarDayKind.WORKDAY)
    return _Table(
        version=version,
        lo=lo,
        hi=hi,
        before=_mon_fri_upto(lo - 1),
        prefix=tuple(accumulate(flags)),
        confirmed=confirmed,
    )


def _shared_version() -> object:
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # the cache is down: keep counting with what this process has
        logger.warning("calendar version unreadable; keeping this process's table", exc_info=True)
        return _table.version if _table is not None else _UNKNOWN


def _current() -> _Table:
    """This process's table, rebuilt when the shared version moved (looked at once a second).
    The version is read before the rows, so a change committed meanwhile rebuilds again."""
    global _table, _checked_at
    table, now = _table, time.monotonic()
    if table is not None and now - _checked_at < CHECK_INTERVAL:
        return table
    version = _shared_version()
    _checked_at = now
    if table is None or table.version != version:
        table = _table = _build(version)
    return table


def invalidate() -> None:
    """Forget this process's table; the next call rebuilds it."""
    global _table
    _table = None


def calendar_changed() -> None:
    """Tell every process that the calendar changed: call after commit."""
    invalidate()
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # never set, evicted or flushed: any new value differs from old tables'
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:
        logger.error("calendar version not bumped; other processes keep their table", exc_info=True)


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------
def _mon_fri_upto(ordinal: int) -> int:
    """Monday–Friday days in [ordinal 1, ordinal]; ordinal 1 (0001-01-01) is a Monday."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _upto(table: _Table, ordinal: int) -> int:
    """Working days from 0001-01-01 up to and including `ordinal` (a running total)."""
    if ordinal < table.lo:
        return _mon_fri_upto(ordinal)
    if ordinal <= table.hi:
        return table.before + table.prefix[ordinal - table.lo]
    return table.before + table.prefix[-1] + _mon_fri_upto(ordinal) - _mon_fri_upto(table.hi)


def is_working_day(day: date) -> bool:
    """True on a working day: an entered day, else the library's schedule, else Mon–Fri."""
    table = _current()
    ordinal = day.toordinal()
    if table.lo <= ordinal <= table.hi:
        i = ordinal - table.lo
        return table.prefix[i] - (table.prefix[i - 1] if i else 0) == 1
    return day.weekday() < 5


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`.

    A decision on Friday received on Monday took 1 working day; received the same day, 0.
    When `end` is before `start` the answer is negative (minus the working days after `end` up
    to and including `start`), so a wrong date shows up instead of being hidden as 0.
    """
    table = _current()
    return _upto(table, end.toordinal()) - _upto(table, start.toordinal())


def add_working_days(day: date, n: int) -> date:
    """The `n`-th working day after `day` (`day` itself for n = 0): a deadline of n working days.

    Always `working_days_between(day, add_working_days(day, n)) == n`.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    table = _current()
    # the first day whose running total reaches the target; the running total never decreases
    target = _upto(table, day.toordinal()) + n
    step = 3 * n + 30  # holds n working days even around the Spring Festival
    low, high = day.toordinal(), day.toordinal() + step
    while _upto(table, high) < target:  # only an entered schedule with a very long break
        low, high = high, high + step
    while low < high:
        middle = (low + high) // 2
        if _upto(table, middle) >= target:
            high = middle
        else:
            low = middle + 1
    return date.fromordinal(low)


# ---------------------------------------------------------------------------------------------
# Which years are known
# ---------------------------------------------------------------------------------------------
def year_status(year: int) -> YearStatus:
    """Where the year's schedule comes from: "library" (the package knows it), "entered" (the
    office confirmed it complete) or "assumed" (weekends plus whatever days were entered)."""
    if year in library_years():
        return "library"
    if year in _current().confirmed:
        return "entered"
    return "assumed"


def assumed_years_between(start: date, end: date) -> tuple[int, ...]:
    """Years of the days `working_days_between(start, end)` counts whose schedule is assumed."""
    first, last = sorted((start, end))
    if first == last:
        return ()
    return tuple(
        y
        for y in range((first + timedelta(days=1)).year, last.year + 1)
        if year_status(y) == "assumed"
    )


def local_day(moment: date | datetime) -> date:
    """The Beijing day of a moment; a date stays as it is, a naive datetime is taken as is."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(BEIJING)
        return moment.date()
    return moment


def due_date(start: date | datetime, working_days: int) -> Deadline:
    """The deadline `working_days` working days after `start` (see `add_working_days`), with
    the years on the way whose holidays were assumed: "按周末推算（2028 年节假日安排尚未录入）"."""
    day = local_day(start)
    due = add_working_days(day, working_days)
    return Deadline(due=due, assumed_years=assumed_years_between(day, due))
