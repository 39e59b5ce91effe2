from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from enterprises.models import CreditRecord, RecordStatus
from enterprises.publication import (
    add_months,
    expire_publications,
    is_published,
    publication_window,
)
from enterprises.tasks import expire_published_records


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 3, 31), 36, date(2029, 3, 31)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("record_type", "penalty_class", "decided", "expected"),
    [
        # general: min 3 months, max 1 year, both as last days
        ("penalty", "general", date(2026, 4, 1), (date(2026, 6, 30), date(2027, 3, 31))),
        ("penalty", "general", date(2026, 1, 31), (date(2026, 4, 29), date(2027, 1, 30))),
        # serious: min 1 year, max 3 years, across a leap day
        ("penalty", "serious", date(2024, 2, 29), (date(2025, 2, 27), date(2027, 2, 27))),
        # minor: repairable once fulfilled (no minimum), shown at most 3 months
        ("penalty", "minor", date(2026, 5, 1), (None, date(2026, 7, 31))),
        ("serious_dishonesty", "", date(2026, 5, 1), (date(2027, 4, 30), date(2029, 4, 30))),
        ("abnormal_operation", "", date(2026, 5, 1), (None, date(2029, 4, 30))),
        ("license", "", date(2026, 5, 1), (None, None)),
        ("tax_grade", "", date(2026, 5, 1), (None, None)),
    ],
)
def test_publication_window(
    record_type: str, penalty_class: str, decided: date, expected: tuple[date | None, date | None]
) -> None:
    assert publication_window(record_type, penalty_class, decided) == expected


def test_department_end_shortens_but_never_lengthens() -> None:
    decided = date(2026, 4, 1)
    assert publication_window("penalty", "general", decided, date(2026, 12, 31)) == (
        date(2026, 6, 30),
        date(2026, 12, 31),
    )
    # the minimum never passes the end
    assert publication_window("penalty", "general", decided, date(2026, 5, 1)) == (
        date(2026, 5, 1),
        date(2026, 5, 1),
    )
    assert publication_window("penalty", "general", decided, date(2030, 1, 1))[1] == date(
        2027, 3, 31
    )


def test_is_published_boundaries() -> None:
    last = date(2027, 3, 31)
    assert is_published(last, last)
    assert not is_published(last, last + timedelta(days=1))
    assert is_published(None, date(2099, 1, 1))


def _record(**fields: Any) -> CreditRecord:
    defaults: dict[str, Any] = {
        "uscc": "91441900MA4W0RDN0K",
        "record_type": "penalty",
        "penalty_class": "general",
        "source_department": "东莞市市场监督管理局",
        "decision_date": date(2025, 1, 1),
        "content_hash": "x",
    }
    defaults.update(fields)
    return CreditRecord.objects.create(**defaults)


@pytest.mark.django_db
def test_nightly_expiry_at_the_boundary_and_idempotent() -> None:
    last_day = date(2026, 11, 20)
    on_last_day = _record(source_record_id="a", publish_max_until=last_day)
    _record(source_record_id="b", publish_max_until=last_day - timedelta(days=1))
    _record(source_record_id="c", record_type="license", penalty_class="")
    _record(source_record_id="d", publish_max_until=date(2020, 1, 1), status=RecordStatus.REPAIRED)
    assert expire_publications(today=last_day) == 1
    assert expire_publications(today=last_day) == 0
    statuses = dict(CreditRecord.objects.values_list("source_record_id", "status"))
    assert statuses == {"a": "active", "b": "expired", "c": "active", "d": "repaired"}
    assert expire_publications(today=last_day + timedelta(days=1)) == 1
    on_last_day.refresh_from_db()
    assert on_last_day.status == "expired"


@pytest.mark.django_db
def test_expiry_task_runs_through_celery() -> None:
    _record(source_record_id="z", publish_max_until=date(2000, 1, 1))
    assert expire_published_records.delay().get() == 1


@pytest.mark.django_db
def test_expired_records_stop_being_shown(
    enterprise: Any, enterprise_owner: Any, login: Any
) -> None:
    shown = _record(
        source_record_id="shown",
        uscc=enterprise.uscc,
        enterprise=enterprise,
        content="仍在公示",
        publish_max_until=date(2026, 11, 21),
    )
    _record(
        source_record_id="gone",
        uscc=enterprise.uscc,
        enterprise=enterprise,
        content="已过公示期",
        publish_max_until=date(2026, 11, 20),
    )
    client = login(enterprise_owner)
    page = client.get(f"/enterprises/registry/{enterprise.uscc}/").content.decode()
    assert "仍在公示" in page and "已过公示期" in page
    expire_publications(today=date(2026, 11, 21))
    page = client.get(f"/enterprises/registry/{enterprise.uscc}/").content.decode()
    assert "仍在公示" in page
    assert "已过公示期" not in page
    shown.refresh_from_db()
    assert shown.status == "active"
