"""Service levels (服务时限): due dates in working days on the Chinese holiday calendar, the
weekend-only note for years without a schedule, overdue flags (query and row agree), and the
sweep — escalation once per stage and round, unclaimed demands back to the pool, deadlines
recounted once the credit office has entered a year's holidays. Time is never frozen: the
tests set `submitted_at` and pass `now=`."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import chinese_calendar
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from banks.models import Bank, LoanProduct
from enterprises.models import Enterprise
from lending import services, sla, tasks
from lending.models import (
    ApplicationEvent,
    ApplicationStatus,
    Escalation,
    LoanApplication,
)
from tests.factories import PASSWORD
from tests.lending.conftest import submit_demand
from xinyidai.core import workdays
from xinyidai.core.calendar import calendar_day_set, calendar_year_confirm
from xinyidai.core.models import Notification

pytestmark = pytest.mark.django_db

BJ = workdays.BEIJING
WEEKEND_NOTE = "按周末推算（2027 年节假日安排尚未录入）"


def bj(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BJ)


def eod(year: int, month: int, day: int) -> datetime:
    """The end of a Beijing day: when a stage due that day becomes late."""
    return bj(year, month, day, 23, 59, 59)


def apply(owner: Any, product: LoanProduct) -> LoanApplication:
    result = services.application_submit(
        actor=owner,
        product_id=product.pk,
        amount=Decimal("500000"),
        term_months=12,
        repayment_method="interest_first",
        purpose="采购原材料",
        password=PASSWORD,
    )
    assert result.application is not None
    return result.application


def submitted_at(application: LoanApplication, moment: datetime) -> LoanApplication:
    """As if `application` had been submitted at `moment` (what `services._start` does)."""
    application.submitted_at = moment
    sla.set_dues(application, sla.dues_from(moment))
    application.save()
    return application


def dues(application: LoanApplication) -> tuple[Any, ...]:
    application.refresh_from_db()
    return (
        application.pickup_due,
        application.contact_due,
        application.decision_due,
        application.sla_assumed_years,
    )


def notices(kind: str) -> list[tuple[str, str, str]]:
    """(recipient e-mail, title, body) of the notices of `kind`, by recipient."""
    return sorted(
        Notification.objects.filter(kind=kind).values_list("user__email", "title", "body")
    )


# ---------------------------------------------------------------------------------------------
# Due dates
# ---------------------------------------------------------------------------------------------
def test_the_2026_national_day_in_the_library() -> None:
    """What the deadlines below rest on (chinesecalendar 1.11.0): 1–7 October off, Sunday
    20 September and Saturday 10 October worked; Friday 25 September is the Mid-autumn
    Festival. 8 October is an ordinary working day."""
    off = sorted(
        d for d in chinese_calendar.holidays if date(2026, 9, 1) <= d <= date(2026, 10, 31)
    )
    assert off == [date(2026, 9, d) for d in (25, 26, 27)] + [
        date(2026, 10, d) for d in range(1, 8)
    ]
    swapped = sorted(d for d in chinese_calendar.workdays if d.year == 2026 and d.month in (9, 10))
    assert swapped == [date(2026, 9, 20), date(2026, 10, 10)]
    assert workdays.is_working_day(date(2026, 10, 8))


def test_deadlines_across_the_national_day_holiday() -> None:
    # Wednesday 30 September: the next working day is Thursday 8 October
    found = sla.dues_from(bj(2026, 9, 30, 10, 0))
    assert (found.pickup, found.contact, found.decision) == (
        eod(2026, 10, 8),
        eod(2026, 10, 10),  # 8, 9 and the swapped Saturday 10 October
        eod(2026, 10, 20),  # 8, 9, 10, 12–16, 19, 20
    )
    assert (found.assumed_years, found.assumed_note) == ((), "")
    assert found.pickup.utcoffset() == timedelta(hours=8)


def test_swapped_workdays_and_the_mid_autumn_festival_count_as_they_should() -> None:
    # Friday 18 September: the swapped Sunday 20 September is the next working day
    after_friday = sla.dues_from(bj(2026, 9, 18, 15, 0))
    assert (after_friday.pickup, after_friday.contact) == (eod(2026, 9, 20), eod(2026, 9, 22))
    # Thursday 24 September: 25–27 off for the Mid-autumn Festival, then Monday 28
    assert sla.dues_from(bj(2026, 9, 24, 9, 0)).pickup == eod(2026, 9, 28)
    # a demand put back in the pool on the swapped Saturday 10 October counts its pick-up
    # from that day, the rest from the submission
    again = sla.dues_from(bj(2026, 9, 30, 10, 0), pickup_from=bj(2026, 10, 10, 9, 0))
    assert (again.pickup, again.contact) == (eod(2026, 10, 12), eod(2026, 10, 10))


def test_the_day_counted_from_is_the_beijing_day() -> None:
    # 16:30 UTC on Friday 9 October is 00:30 on the swapped Saturday 10 October in Beijing
    found = sla.dues_from(datetime(2026, 10, 9, 16, 30, tzinfo=UTC))
    assert found.pickup == eod(2026, 10, 12)
    assert sla.dues_from(datetime(2026, 10, 9, 15, 30, tzinfo=UTC)).pickup == eod(2026, 10, 10)


def test_the_number_of_working_days_comes_from_the_settings(settings: Any) -> None:
    settings.LENDING_SLA_PICKUP_DAYS = 2
    settings.LENDING_SLA_CONTACT_DAYS = 4
    settings.LENDING_SLA_DECISION_DAYS = 5
    found = sla.dues_from(bj(2026, 9, 30, 10, 0))
    assert (found.pickup, found.contact, found.decision) == (
        eod(2026, 10, 9),
        eod(2026, 10, 12),
        eod(2026, 10, 13),
    )


def test_a_submission_is_given_its_three_deadlines(
    product: LoanProduct, enterprise_owner: Any
) -> None:
    application = apply(enterprise_owner, product)
    expected = sla.dues_from(application.submitted_at)
    assumed = ",".join(str(y) for y in expected.assumed_years)
    assert dues(application) == (expected.pickup, expected.contact, expected.decision, assumed)
    demand = submit_demand(enterprise_owner)
    assert demand.pickup_due == sla.dues_from(demand.submitted_at).pickup
    assert demand.pool_rounds == 0


def test_a_deadline_in_2027_is_counted_by_weekends_and_says_so(
    product: LoanProduct, enterprise_owner: Any, login: Any
) -> None:
    application = submitted_at(apply(enterprise_owner, product), bj(2026, 12, 30, 10, 0))
    # Thursday 31 December is known; Friday 1 January 2027 counts as a working day
    assert dues(application) == (
        eod(2026, 12, 31),
        eod(2027, 1, 4),
        eod(2027, 1, 13),
        "2027",
    )
    assert sla.assumed_note(application.sla_assumed_years) == WEEKEND_NOTE
    assert sla.assumed_note((2027, 2028)) == "按周末推算（2027、2028 年节假日安排尚未录入）"
    assert sla.assumed_note("") == ""
    body = login(enterprise_owner).get(f"/api/v1/applications/{application.pk}/").json()
    assert (body["sla_note"], body["contact_due"]) == (WEEKEND_NOTE, "2027-01-04T23:59:59+08:00")


def test_deadlines_are_recounted_once_the_office_enters_2027(
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    credit_office: Any,
    django_capture_on_commit_callbacks: Any,
    login: Any,
) -> None:
    application = submitted_at(apply(enterprise_owner, product), bj(2026, 12, 30, 10, 0))
    # decided already: its deadlines no longer matter and are left alone
    decided = submitted_at(apply(enterprise_owner, product), bj(2026, 12, 30, 11, 0))
    for move in ("accept", "reject"):
        services.application_move(
            actor=bank_officer, application_id=decided.pk, move=move, reject_reason="credit"
        )
    decided_before = dues(decided)
    now = bj(2026, 12, 30, 12, 0)
    assert sla.sweep(now=now).recomputed == 0  # nothing entered yet: the same dates

    # 1 January entered as a holiday, the year not confirmed yet: the dates move, the note stays
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_set(actor=credit_office, day=date(2027, 1, 1), kind="holiday", name="元旦")
    assert sla.sweep(now=now).recomputed == 1
    assert dues(application) == (eod(2026, 12, 31), eod(2027, 1, 5), eod(2027, 1, 14), "2027")
    assert sla.sweep(now=now).recomputed == 0

    # the year confirmed complete: the note disappears
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_confirm(actor=credit_office, year=2027, published_ref="国办发明电〔2026〕9号")
    result = sla.sweep(now=now)
    assert (result.recomputed, result.escalated, result.returned_to_pool) == (1, 0, 0)
    assert dues(application) == (eod(2026, 12, 31), eod(2027, 1, 5), eod(2027, 1, 14), "")
    body = login(enterprise_owner).get(f"/api/v1/applications/{application.pk}/").json()
    assert (body["sla_note"], body["decision_due"]) == ("", "2027-01-14T23:59:59+08:00")
    assert sla.sweep(now=now).recomputed == 0
    assert dues(decided) == decided_before


def test_a_demand_back_in_the_pool_is_recounted_from_its_return(
    product: LoanProduct,
    enterprise_owner: Any,
    credit_office: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    demand = submitted_at(submit_demand(enterprise_owner), bj(2026, 12, 29, 10, 0))
    assert dues(demand) == (eod(2026, 12, 30), eod(2027, 1, 1), eod(2027, 1, 12), "2027")
    back = bj(2026, 12, 31, 9, 0)
    assert sla.sweep(now=back).returned_to_pool == 1
    # picked up from Thursday 31 December: Friday 1 January 2027, by weekends only
    assert dues(demand)[0] == eod(2027, 1, 1) and demand.pool_rounds == 1
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_set(actor=credit_office, day=date(2027, 1, 1), kind="holiday", name="元旦")
        calendar_year_confirm(actor=credit_office, year=2027, published_ref="国办发明电〔2026〕9号")
    assert sla.sweep(now=bj(2026, 12, 31, 12, 0)).recomputed == 1
    # the pick-up counts from the return (not the submission), the rest from the submission
    assert dues(demand) == (eod(2027, 1, 4), eod(2027, 1, 4), eod(2027, 1, 13), "")
    assert demand.pool_rounds == 1


# ---------------------------------------------------------------------------------------------
# Overdue: the query and the row agree
# ---------------------------------------------------------------------------------------------
def test_overdue_q_and_overdue_stages_give_the_same_answers(
    enterprise: Enterprise, enterprise_owner: Any
) -> None:
    now = bj(2026, 11, 16, 12, 0)
    second = timedelta(seconds=1)
    moments = (now - second, now, now + second, None)  # late, just due, not yet, none
    rows = [
        LoanApplication(
            number=f"DK-GRID-{i}",
            kind="demand",
            enterprise=enterprise,
            amount=Decimal("500000"),
            term_months=12,
            purpose="网格",
            submitted_by=enterprise_owner,
            status=status,
            first_contact_at=contacted,
            pickup_due=pickup,
            contact_due=contact,
            decision_due=decision,
        )
        for i, (status, contacted, pickup, contact, decision) in enumerate(
            itertools.product(
                ApplicationStatus.values, (None, now - timedelta(days=1)), moments, moments, moments
            )
        )
    ]
    LoanApplication.objects.bulk_create(rows)
    everything = list(LoanApplication.objects.all())
    assert len(everything) == 8 * 2 * 4 * 4 * 4
    by_row = {a.pk: sla.overdue_stages(a, now) for a in everything}
    for stage in ("pickup", "contact", "decision"):
        by_query = set(
            LoanApplication.objects.filter(sla.overdue_q(stage, now)).values_list("pk", flat=True)
        )
        assert by_query == {pk for pk, late in by_row.items() if stage in late}, stage
        assert by_query  # the grid has late rows of every stage
    late_any = set(
        LoanApplication.objects.filter(sla.any_overdue_q(now)).values_list("pk", flat=True)
    )
    assert late_any == {pk for pk, late in by_row.items() if late}
    # a few rows spelled out
    sample = everything[0]
    for status, contacted, expected in (
        ("submitted", None, ["pickup", "contact", "decision"]),
        ("accepted", None, ["contact", "decision"]),
        ("under_review", now, ["decision"]),
        ("approved", None, []),
        ("withdrawn", None, []),
    ):
        sample.status, sample.first_contact_at = status, contacted
        sample.pickup_due = sample.contact_due = sample.decision_due = now - second
        assert sla.overdue_stages(sample, now) == expected, status
    sample.pickup_due = sample.contact_due = sample.decision_due = now
    sample.status, sample.first_contact_at = "submitted", None
    assert sla.overdue_stages(sample, now) == []  # due at this very moment: not late yet


# ---------------------------------------------------------------------------------------------
# The sweep: escalation of product applications
# ---------------------------------------------------------------------------------------------
MONDAY = bj(2026, 11, 2, 10, 0)  # pick-up due Tue 3 Nov, contact Thu 5 Nov, decision Mon 16 Nov


def test_a_late_stage_is_escalated_once_to_the_office_and_the_banks_admins(
    product: LoanProduct,
    bank: Bank,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_admin: Any,
    credit_office: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    application = submitted_at(apply(enterprise_owner, product), MONDAY)
    assert application.pickup_due == eod(2026, 11, 3)
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(now=eod(2026, 11, 3)).escalated == 0  # due this very second
        result = sla.sweep(now=bj(2026, 11, 4, 0, 0))
    assert (result.escalated, result.returned_to_pool) == (1, 0)
    row = Escalation.objects.get()
    assert (row.application_id, row.stage, row.round, row.bank_id, row.due, row.at) == (
        application.pk,
        "pickup",
        0,
        bank.pk,
        eod(2026, 11, 3),
        bj(2026, 11, 4, 0, 0),
    )
    line = f"{application.number} 东莞市示范科技有限公司：接单超时（期限 2026-11-03）"
    assert notices("application.overdue") == [
        ("badmin@example.com", "本行 1 件贷款申请超过服务时限", line),
        ("staff@xyb.gov.cn", "1 件贷款申请超过服务时限", line),
    ]
    assert Notification.objects.exclude(kind="application.overdue").count() == 0
    assert sorted(tuple(m.to) for m in mail.outbox) == [
        ("badmin@example.com",),
        ("staff@xyb.gov.cn",),
    ]
    assert reverse("application_list") + "?overdue=1" in mail.outbox[0].body

    # idempotent: the same stage is never escalated again, nobody is told twice
    with django_capture_on_commit_callbacks(execute=True):
        again = sla.sweep(now=bj(2026, 11, 4, 0, 5))
        assert sla.sweep(now=bj(2026, 11, 4, 0, 5)).escalated == 0
    assert (again.escalated, again.returned_to_pool) == (0, 0)
    assert Escalation.objects.count() == 1
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2


def test_each_stage_is_escalated_in_its_turn(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, credit_office: Any
) -> None:
    application = submitted_at(apply(enterprise_owner, product), MONDAY)
    sla.sweep(now=bj(2026, 11, 4, 0, 0))
    services.application_move(actor=bank_officer, application_id=application.pk, move="accept")
    # accepted: the pick-up is no longer late; the contact is late from Friday
    assert sla.sweep(now=bj(2026, 11, 5, 12, 0)).escalated == 0
    assert sla.sweep(now=bj(2026, 11, 6, 0, 0)).escalated == 1
    services.application_move(actor=bank_officer, application_id=application.pk, move="contact")
    assert sla.sweep(now=bj(2026, 11, 16, 23, 0)).escalated == 0
    assert sla.sweep(now=bj(2026, 11, 17, 0, 0)).escalated == 1
    assert sla.sweep(now=bj(2026, 11, 20, 0, 0)).escalated == 0
    assert sorted(Escalation.objects.values_list("stage", "round", "due")) == [
        ("contact", 0, eod(2026, 11, 5)),
        ("decision", 0, eod(2026, 11, 16)),
        ("pickup", 0, eod(2026, 11, 3)),
    ]
    application.refresh_from_db()
    assert sla.overdue_stages(application, bj(2026, 11, 17, 0, 0)) == ["decision"]
    # the office was told once per sweep that found something; the bank has no admin
    assert [n[0] for n in notices("application.overdue")] == ["staff@xyb.gov.cn"] * 3


def test_one_sweep_tells_each_bank_its_own_and_the_office_all(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_admin: Any,
    credit_office: Any,
) -> None:
    mine = submitted_at(apply(enterprise_owner, product), MONDAY)
    theirs = submitted_at(apply(enterprise_owner, other_product), MONDAY + timedelta(hours=1))
    Notification.objects.all().delete()
    assert sla.sweep(now=bj(2026, 11, 4, 9, 0)).escalated == 2
    sent = {
        email: (title, body.splitlines()) for email, title, body in notices("application.overdue")
    }
    assert set(sent) == {"staff@xyb.gov.cn", "badmin@example.com", "admin@other-bank.cn"}
    office_title, office_lines = sent["staff@xyb.gov.cn"]
    assert office_title == "2 件贷款申请超过服务时限"
    assert sorted(line.split()[0] for line in office_lines) == sorted([mine.number, theirs.number])
    assert sent["badmin@example.com"][1][0].startswith(mine.number)
    assert sent["admin@other-bank.cn"][1][0].startswith(theirs.number)
    assert len(sent["badmin@example.com"][1]) == len(sent["admin@other-bank.cn"][1]) == 1


def test_one_notice_per_person_per_sweep_whatever_the_stages(
    product: LoanProduct, enterprise_owner: Any, bank_admin: Any, credit_office: Any
) -> None:
    application = submitted_at(apply(enterprise_owner, product), MONDAY)
    Notification.objects.all().delete()
    # found only after the decision was due: all three stages are late at once
    assert sla.sweep(now=bj(2026, 11, 17, 9, 0)).escalated == 3
    assert sorted(Escalation.objects.values_list("stage", flat=True)) == [
        "contact",
        "decision",
        "pickup",
    ]
    sent = notices("application.overdue")
    assert [email for email, _title, _body in sent] == ["badmin@example.com", "staff@xyb.gov.cn"]
    assert all(body.count(application.number) == 3 for _email, _title, body in sent)


# ---------------------------------------------------------------------------------------------
# The sweep: demands nobody picks up go back to the pool, a round at a time
# ---------------------------------------------------------------------------------------------
def test_an_unclaimed_demand_goes_back_to_the_pool_round_after_round(
    product: LoanProduct,
    enterprise_owner: Any,
    enterprise_admin: Any,
    bank_officer: Any,
    bank_admin: Any,
    credit_office: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    demand = submitted_at(submit_demand(enterprise_owner), MONDAY)
    Notification.objects.all().delete()
    mail.outbox.clear()
    first = bj(2026, 11, 4, 9, 0)
    with django_capture_on_commit_callbacks(execute=True):
        result = sla.sweep(now=first)
    assert (result.escalated, result.returned_to_pool) == (1, 1)
    row = Escalation.objects.get()
    assert (row.stage, row.round, row.bank_id, row.due) == ("pickup", 0, None, eod(2026, 11, 3))
    demand.refresh_from_db()
    # picked up from Wednesday 4 November again; contact and decision still from the submission
    assert (demand.status, demand.pool_rounds, demand.bank_id) == ("submitted", 1, None)
    assert dues(demand) == (eod(2026, 11, 5), eod(2026, 11, 5), eod(2026, 11, 16), "")
    event = ApplicationEvent.objects.get(application=demand, move="return_to_pool")
    assert (event.actor_id, event.old_status, event.new_status, event.at) == (
        None,
        "submitted",
        "submitted",
        first,
    )
    assert event.reason == "超过接单时限无人接单，第 1 次重新放回抢单池"
    # the office, the enterprise and the offered banks are told; the pick-up escalation of a
    # demand is not sent on its own
    unclaimed = notices("demand.unclaimed")
    assert [n[0] for n in unclaimed] == [
        "eadmin@example.com",
        "owner@example.com",
        "staff@xyb.gov.cn",
    ]
    office = next(n for n in unclaimed if n[0] == "staff@xyb.gov.cn")
    assert office[1] == "1 件融资需求超时无人接单，已重新放回抢单池"
    assert office[2] == f"{demand.number} 东莞市示范科技有限公司"
    owner = next(n for n in unclaimed if n[0] == "owner@example.com")
    assert owner[1] == f"融资需求 {demand.number}暂无银行接单，已重新推送"
    reoffered = notices("demand.reoffered")
    assert [n[0] for n in reoffered] == ["badmin@example.com", "officer@example.com"]
    assert reoffered[0][1] == f"融资需求 {demand.number}仍待接单：东莞市示范科技有限公司"
    assert reoffered[0][2] == f"金额 {demand.amount} 元，期限 12 个月，用途：购置生产设备"
    assert (
        Notification.objects.exclude(kind__in=["demand.unclaimed", "demand.reoffered"]).count() == 0
    )
    assert sorted(tuple(m.to) for m in mail.outbox) == [
        ("badmin@example.com", "officer@example.com"),
        ("eadmin@example.com", "owner@example.com"),
        ("staff@xyb.gov.cn",),
    ]

    # nothing new until the new deadline passes
    with django_capture_on_commit_callbacks(execute=True):
        quiet = sla.sweep(now=bj(2026, 11, 5, 23, 0))
    assert (quiet.escalated, quiet.returned_to_pool) == (0, 0)
    assert Notification.objects.count() == 5 and len(mail.outbox) == 3

    # Friday 6 November: the second round is missed too (and now the contact as well)
    second = bj(2026, 11, 6, 0, 0)
    result = sla.sweep(now=second)
    assert (result.escalated, result.returned_to_pool) == (2, 1)
    assert sorted(Escalation.objects.values_list("stage", "round")) == [
        ("contact", 0),
        ("pickup", 0),
        ("pickup", 1),
    ]
    demand.refresh_from_db()
    assert (demand.pool_rounds, demand.pickup_due) == (2, eod(2026, 11, 9))
    reasons = list(
        ApplicationEvent.objects.filter(application=demand, move="return_to_pool").values_list(
            "reason", "actor"
        )
    )
    assert reasons == [
        ("超过接单时限无人接单，第 1 次重新放回抢单池", None),
        ("超过接单时限无人接单，第 2 次重新放回抢单池", None),
    ]
    # the missed contact is escalated to the office alone (the demand has no bank yet)
    assert [n[0] for n in notices("application.overdue")] == ["staff@xyb.gov.cn"]

    # once a bank picks it up, it leaves the pool for good
    services.application_move(actor=bank_officer, application_id=demand.pk, move="accept")
    later = sla.sweep(now=bj(2026, 11, 10, 9, 0))
    assert later.returned_to_pool == 0
    assert not Escalation.objects.filter(stage="pickup", round=2).exists()


def test_the_beat_task_sweeps(
    product: LoanProduct, enterprise_owner: Any, credit_office: Any
) -> None:
    demand = submit_demand(enterprise_owner)
    LoanApplication.objects.filter(pk=demand.pk).update(
        pickup_due=timezone.now() - timedelta(hours=1), sla_assumed_years=""
    )
    assert tasks.sla_sweep.delay().get() == {
        "recomputed": 0,
        "escalated": 1,
        "returned_to_pool": 1,
    }
    assert tasks.sla_sweep.delay().get() == {
        "recomputed": 0,
        "escalated": 0,
        "returned_to_pool": 0,
    }
    demand.refresh_from_db()
    assert demand.pool_rounds == 1
    assert demand.pickup_due is not None and demand.pickup_due > timezone.now()
