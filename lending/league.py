"""The banks' service league table (服务排名): how each bank handles the loan applications made
to it over a period, for the credit office and the banks' admins.

The period selects applications by submission time (Beijing days, `from` and `to` included);
every figure of a row is about that cohort, whenever the pick-up, decision or disbursement
happened. Counts and sums are one GROUP BY bank; only the medians need Python, over plain
timestamp pairs (`values_list`), so SQLite and PostgreSQL give the same answer.

- received: applications whose bank is this one — product applications, and financing demands
  the bank accepted (a demand still in the pool belongs to no bank yet);
- picked up: received with an `accepted_at`; pick-up rate = picked up / (received − withdrawn
  before any pick-up): an enterprise withdrawing first is not the bank's miss;
- on-time pick-up rate: picked up by `pickup_due`, over the same denominator (never picked up
  counts as not on time);
- median hours to pick-up (`accepted_at − submitted_at`) and to decision (`decided_at −
  submitted_at`), one decimal;
- approval rate = approved or later (approved, disbursed, closed) / decided (those + rejected);
- disbursed: disbursed or closed; amount disbursed = sum of `disbursed_amount`; credit-loan
  share = the part disbursed with guarantee method `credit` (信用) / amount disbursed;
  first loans = disbursed with `first_loan`.

Rates are `Decimal` 0..1 with 4 places (None without a denominator); money `Decimal` with 2.
Rank: pick-up rate (high first), then median hours to decision (short first), then approval
rate (high first); equal keys share a rank; banks with nothing to rank (no pick-up rate) come
last without a rank.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from banks.models import Bank, GuaranteeMethod, LoanProduct
from lending.models import ApplicationStatus, LoanApplication
from xinyidai.permissions import Role, bank_membership_of, has_role

A = ApplicationStatus
# Days are Beijing days, whatever the server's zone.
REPORT_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
DEFAULT_DAYS = 90  # the last 90 days, today included
MAX_DAYS = 3 * 366  # the medians read two timestamps per application: keep a period bounded

APPROVED_OR_LATER = (A.APPROVED, A.DISBURSED, A.CLOSED)
DISBURSED = (A.DISBURSED, A.CLOSED)
RATE_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.1")
HOURS_PLACES = Decimal("0.1")
CENTS = Decimal("0.01")
WAN = Decimal(10000)
MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
ONE_MICROSECOND = dt.timedelta(microseconds=1)

# Column names are a contract for the credit office's spreadsheets: add, never rename.
LEAGUE_CSV_HEADER = [
    "bank",
    "received",
    "picked_up",
    "pickup_rate",
    "on_time_pickup_rate",
    "median_hours_to_pickup",
    "median_hours_to_decision",
    "approval_rate",
    "disbursed_count",
    "amount_disbursed",
    "credit_loan_share",
    "first_loans",
]


# ---------------------------------------------------------------------------------------------
# Who sees it: the office all banks; a bank admin the same table, to see where the bank stands
# ---------------------------------------------------------------------------------------------
VIEWER_ROLES = (Role.CREDIT_OFFICE, Role.SUPERUSER, Role.BANK_ADMIN)


def can_view_league(user: Any) -> bool:
    return has_role(user, *VIEWER_ROLES)


def own_bank_id(user: Any) -> int | None:
    """The bank whose row is highlighted for a bank admin (None for the office)."""
    membership = bank_membership_of(user)
    return membership.bank_id if membership is not None and membership.role == "admin" else None


# ---------------------------------------------------------------------------------------------
# The period
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    start: dt.date  # first day, included
    end: dt.date  # last day, included

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=REPORT_TZ)

    @property
    def end_before(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=REPORT_TZ)


def today() -> dt.date:
    return timezone.localdate(timezone=REPORT_TZ)


def default_period(end: dt.date | None = None) -> Period:
    end = end or today()
    return Period(start=end - dt.timedelta(days=DEFAULT_DAYS - 1), end=end)


def period_errors(start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    """What is wrong with a chosen period, per field (`from`, `to`); empty when it is fine."""
    if start is None or end is None:
        return {}
    if start > end:
        return {"to": _("截止日期不能早于起始日期")}
    if (end - start).days + 1 > MAX_DAYS:
        return {"to": _("统计区间最长 %(days)d 天") % {"days": MAX_DAYS}}
    return {}


def resolve_period(start: dt.date | None, end: dt.date | None) -> Period:
    """The period from optional dates: no end → today; no start → 90 days up to the end."""
    end = end or today()
    return Period(start=start or default_period(end).start, end=end)


# ---------------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------------
def _ratio(part: Decimal | int, whole: Decimal | int, places: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(places, ROUND_HALF_UP)


def median(values: Sequence[Decimal]) -> Decimal | None:
    """The median (mean of the middle two for an even count), one decimal, half up."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return value.quantize(HOURS_PLACES, ROUND_HALF_UP)


def hours_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    """Exact hours between two timestamps (no float on the way)."""
    return Decimal((end - start) // ONE_MICROSECOND) / MICROSECONDS_PER_HOUR


@dataclass
class LeagueRow:
    bank_id: int
    bank_name: str
    received: int = 0
    withdrawn_before_pickup: int = 0
    picked_up: int = 0
    on_time: int = 0
    approved: int = 0
    rejected: int = 0
    disbursed_count: int = 0
    amount_disbursed: Decimal = Decimal("0.00")
    credit_amount: Decimal = Decimal("0.00")
    first_loans: int = 0
    median_hours_to_pickup: Decimal | None = None
    median_hours_to_decision: Decimal | None = None
    rank: int | None = None
    own: bool = False  # the viewing bank admin's own bank

    @property
    def pickup_base(self) -> int:
        return self.received - self.withdrawn_before_pickup

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def pickup_rate(self) -> Decimal | None:
        return _ratio(self.picked_up, self.pickup_base, RATE_PLACES)

    @property
    def on_time_pickup_rate(self) -> Decimal | None:
        return _ratio(self.on_time, self.pickup_base, RATE_PLACES)

    @property
    def approval_rate(self) -> Decimal | None:
        return _ratio(self.approved, self.decided, RATE_PLACES)

    @property
    def credit_loan_share(self) -> Decimal | None:
        return _ratio(self.credit_amount, self.amount_disbursed, RATE_PLACES)

    # percent with one decimal, for the page (from the counts, not the rounded rate)
    @property
    def pickup_percent(self) -> Decimal | None:
        return _ratio(self.picked_up * 100, self.pickup_base, PERCENT_PLACES)

    @property
    def on_time_pickup_percent(self) -> Decimal | None:
        return _ratio(self.on_time * 100, self.pickup_base, PERCENT_PLACES)

    @property
    def approval_percent(self) -> Decimal | None:
        return _ratio(self.approved * 100, self.decided, PERCENT_PLACES)

    @property
    def credit_loan_percent(self) -> Decimal | None:
        return _ratio(self.credit_amount * 100, self.amount_disbursed, PERCENT_PLACES)

    @property
    def amount_disbursed_wan(self) -> Decimal:
        return (self.amount_disbursed / WAN).quantize(CENTS, ROUND_HALF_UP)

    def rank_key(self) -> tuple[Decimal, Decimal, Decimal]:
        """Smaller is better; a missing median or approval rate ranks after any value."""
        missing = Decimal("Infinity")
        assert self.pickup_rate is not None
        return (
            -self.pickup_rate,
            missing if self.median_hours_to_decision is None else self.median_hours_to_decision,
            missing if self.approval_rate is None else -self.approval_rate,
        )


def _counts(applications: Any) -> Iterable[dict[str, Any]]:
    return applications.values("bank_id").annotate(
        received=Count("id"),
        withdrawn_before_pickup=Count("id", filter=Q(status=A.WITHDRAWN, accepted_at__isnull=True)),
        picked_up=Count("id", filter=Q(accepted_at__isnull=False)),
        on_time=Count("id", filter=Q(accepted_at__isnull=False, accepted_at__lte=F("pickup_due"))),
        approved=Count("id", filter=Q(status__in=APPROVED_OR_LATER)),
        rejected=Count("id", filter=Q(status=A.REJECTED)),
        disbursed_count=Count("id", filter=Q(status__in=DISBURSED)),
        amount_disbursed=Sum(
            "disbursed_amount", filter=Q(status__in=DISBURSED), default=Decimal(0)
        ),
        credit_amount=Sum(
            "disbursed_amount",
            filter=Q(status__in=DISBURSED, disbursed_guarantee_method=GuaranteeMethod.CREDIT),
            default=Decimal(0),
        ),
        first_loans=Count("id", filter=Q(status__in=DISBURSED, first_loan=True)),
    )


def _durations(applications: Any) -> tuple[dict[int, list[Decimal]], dict[int, list[Decimal]]]:
    """Hours to pick-up and to decision per bank, from plain timestamps."""
    to_pickup: dict[int, list[Decimal]] = defaultdict(list)
    to_decision: dict[int, list[Decimal]] = defaultdict(list)
    pairs = applications.filter(
        Q(accepted_at__isnull=False) | Q(decided_at__isnull=False)
    ).values_list("bank_id", "submitted_at", "accepted_at", "decided_at")
    for bank_id, submitted_at, accepted_at, decided_at in pairs.iterator(chunk_size=5000):
        if accepted_at is not None:
            to_pickup[bank_id].append(hours_between(submitted_at, accepted_at))
        if decided_at is not None:
            to_decision[bank_id].append(hours_between(submitted_at, decided_at))
    return to_pickup, to_decision


def _rank(rows: list[LeagueRow]) -> list[LeagueRow]:
    ranked = sorted(
        (r for r in rows if r.pickup_rate is not None),
        key=lambda r: (r.rank_key(), r.bank_name),
    )
    previous = None
    for position, row in enumerate(ranked, start=1):
        key = row.rank_key()
        row.rank = (
            previous.rank if previous is not None and previous.rank_key() == key else position
        )
        previous = row
    unranked = sorted((r for r in rows if r.pickup_rate is None), key=lambda r: r.bank_name)
    return ranked + unranked


def league_table(*, user: Any, period: Period) -> list[LeagueRow]:
    """One row per bank with a listed product or an application received in the period, in
    rank order; empty for anyone but the office and the banks' admins."""
    if not can_view_league(user):
        return []
    applications = LoanApplication.objects.filter(
        bank__isnull=False,
        submitted_at__gte=period.start_at,
        submitted_at__lt=period.end_before,
    ).order_by()
    counts = {row.pop("bank_id"): row for row in _counts(applications)}
    to_pickup, to_decision = _durations(applications)
    listed = LoanProduct.objects.filter(bank=OuterRef("pk"), listed=True)
    banks = Bank.objects.filter(Q(pk__in=list(counts)) | Exists(listed)).values_list("pk", "name")
    own = own_bank_id(user)
    rows = []
    for bank_id, name in banks:
        figures = counts.get(bank_id, {})
        row = LeagueRow(bank_id=bank_id, bank_name=name, own=bank_id == own, **figures)
        row.amount_disbursed = Decimal(row.amount_disbursed).quantize(CENTS)
        row.credit_amount = Decimal(row.credit_amount).quantize(CENTS)
        row.median_hours_to_pickup = median(to_pickup.get(bank_id, []))
        row.median_hours_to_decision = median(to_decision.get(bank_id, []))
        rows.append(row)
    return _rank(rows)


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------
def as_record(row: LeagueRow) -> dict[str, Any]:
    """The row's published figures under their CSV/API names (bank as id and name)."""
    return {
        "bank": {"id": row.bank_id, "name": row.bank_name},
        "rank": row.rank,
        "received": row.received,
        "picked_up": row.picked_up,
        "pickup_rate": row.pickup_rate,
        "on_time_pickup_rate": row.on_time_pickup_rate,
        "median_hours_to_pickup": row.median_hours_to_pickup,
        "median_hours_to_decision": row.median_hours_to_decision,
        "approval_rate": row.approval_rate,
        "disbursed_count": row.disbursed_count,
        "amount_disbursed": row.amount_disbursed,
        "credit_loan_share": row.credit_loan_share,
        "first_loans": row.first_loans,
    }


def league_csv_rows(rows: Iterable[LeagueRow]) -> Iterator[list[Any]]:
    """Rows for `LEAGUE_CSV_HEADER` in rank order: the bank by name, no value as an empty cell."""
    for row in rows:
        record = as_record(row)
        record["bank"] = row.bank_name
        yield [record[name] for name in LEAGUE_CSV_HEADER]


def league_chart_data(rows: Iterable[LeagueRow]) -> dict[str, Any]:
    """The page's bar chart: pick-up and approval rate per bank (percent, one decimal, as
    strings — JSON numbers would mean floats; null where there is no denominator)."""
    shown = [r for r in rows if r.received]
    return {
        "banks": [r.bank_name for r in shown],
        "pickup": [None if r.pickup_percent is None else str(r.pickup_percent) for r in shown],
        "approval": [
            None if r.approval_percent is None else str(r.approval_percent) for r in shown
        ],
    }
