"""Publication periods of penalties and list records (信用修复管理办法, in force 2026-04-01).

The whole rule table lives here. A record's window runs from its decision date. Both dates kept on
a record are the LAST day of a period: `publish_min_until` is the last day of the minimum period
(repair may be granted from the next day; None when repair needs no waiting), `publish_max_until`
the last day the record is shown (from the next day it is expired). A department's own end of
publication (公示截止期, `valid_until`, also a last day) shortens the window, never lengthens it.
A 1-year period from 2026-01-31 covers 2026-01-31 … 2027-01-30.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

if TYPE_CHECKING:
    from enterprises.models import CreditRecord

# (record type, penalty class or "") → (minimum months, maximum months); None = no minimum.
RULES: dict[tuple[str, str], tuple[int | None, int]] = {
    # minor penalties are normally not published; when they are, for at most 3 months and they
    # are repairable as soon as the obligation is fulfilled (no minimum period)
    ("penalty", "minor"): (None, 3),
    ("penalty", "general"): (3, 12),
    ("penalty", "serious"): (12, 36),
    # lists (名单): the serious-dishonesty list follows the serious class; the abnormal-operations
    # list and dishonest judgment debtors are published at most 3 years and may be repaired once
    # the cause is removed (removal from the list), so no minimum.
    ("serious_dishonesty", ""): (12, 36),
    ("abnormal_operation", ""): (None, 36),
    ("dishonest_debtor", ""): (None, 36),
}
PUBLISHED_TYPES = frozenset(t for t, _ in RULES)


def add_months(day: date, months: int) -> date:
    """Same day `months` later; the 31st becomes the last day of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rule_for(record_type: str, penalty_class: str = "") -> tuple[int | None, int] | None:
    key = (record_type, penalty_class if record_type == "penalty" else "")
    return RULES.get(key)


def publication_window(
    record_type: str, penalty_class: str, decision_date: date, valid_until: date | None = None
) -> tuple[date | None, date | None]:
    """(last day of the minimum period, last day shown); (None, None) when no rule applies."""
    rule = rule_for(record_type, penalty_class)
    if rule is None:
        return None, None
    min_months, max_months = rule
    last_shown = add_months(decision_date, max_months) - timedelta(days=1)
    if valid_until is not None and valid_until < last_shown:
        last_shown = max(valid_until, decision_date)
    if min_months is None:
        return None, last_shown
    return min(add_months(decision_date, min_months) - timedelta(days=1), last_shown), last_shown


def is_published(publish_max_until: date | None, today: date) -> bool:
    """A record is shown on `today` when it has no end or its last day has not passed."""
    return publish_max_until is None or publish_max_until >= today


def records_past_publication(today: date | None = None) -> QuerySet[CreditRecord]:
    from enterprises.models import CreditRecord, RecordStatus

    today = today or timezone.localdate()
    return CreditRecord.objects.filter(status=RecordStatus.ACTIVE, publish_max_until__lt=today)


def expire_publications(today: date | None = None) -> int:
    """Stop publishing records past their maximum period. Idempotent: a second run finds none."""
    from enterprises.models import RecordStatus

    now = timezone.now()
    with transaction.atomic():
        return records_past_publication(today).update(status=RecordStatus.EXPIRED, updated_at=now)
