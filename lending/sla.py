"""Service levels of loan applications (服务时限): due dates in working days on the Chinese
holiday calendar (with the credit office's entered years), overdue flags, and the sweep that
escalates missed levels to the credit office and puts unclaimed demands back in the pool.

All three stages count from submission: picked up within `LENDING_SLA_PICKUP_DAYS` working
days, first contact within `LENDING_SLA_CONTACT_DAYS`, a decision within
`LENDING_SLA_DECISION_DAYS`. A stage is due at the end (23:59:59 Beijing) of its due day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lending.models import (
    ApplicationEvent,
    ApplicationKind,
    ApplicationStatus,
    Escalation,
    LoanApplication,
    SlaStage,
)
from xinyidai.core import workdays

A = ApplicationStatus
OPEN = (A.SUBMITTED, A.ACCEPTED, A.UNDER_REVIEW)
BEFORE_CONTACT = (A.SUBMITTED, A.ACCEPTED, A.UNDER_REVIEW)


def days(stage: str) -> int:
    table: dict[str, int] = {
        SlaStage.PICKUP: settings.LENDING_SLA_PICKUP_DAYS,
        SlaStage.CONTACT: settings.LENDING_SLA_CONTACT_DAYS,
        SlaStage.DECISION: settings.LENDING_SLA_DECISION_DAYS,
    }
    return table[stage]


@dataclass(frozen=True)
class Dues:
    pickup: datetime
    contact: datetime
    decision: datetime
    assumed_years: tuple[int, ...]

    @property
    def assumed_note(self) -> str:
        return assumed_note(self.assumed_years)


def assumed_note(years: tuple[int, ...] | str) -> str:
    """ "按周末推算（2027 年节假日安排尚未录入）" or ""."""
    if isinstance(years, str):
        years = tuple(int(y) for y in years.split(",") if y)
    if not years:
        return ""
    return _("按周末推算（%(years)s 年节假日安排尚未录入）") % {
        "years": "、".join(str(y) for y in years)
    }


def end_of_day(day: date) -> datetime:
    """A stage due on `day` is due until 23:59:59 Beijing time that day, whatever the server's
    time zone."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=workdays.BEIJING)


def dues_from(start: datetime, *, pickup_from: datetime | None = None) -> Dues:
    """The three deadlines for an application submitted at `start` (a demand put back in the
    pool counts its pick-up again from `pickup_from`)."""
    pickup = workdays.due_date(pickup_from or start, days(SlaStage.PICKUP))
    contact = workdays.due_date(start, days(SlaStage.CONTACT))
    decision = workdays.due_date(start, days(SlaStage.DECISION))
    assumed = sorted(
        set(pickup.assumed_years) | set(contact.assumed_years) | set(decision.assumed_years)
    )
    return Dues(
        pickup=end_of_day(pickup.due),
        contact=end_of_day(contact.due),
        decision=end_of_day(decision.due),
        assumed_years=tuple(assumed),
    )


def set_dues(application: LoanApplication, dues: Dues) -> None:
    application.pickup_due = dues.pickup
    application.contact_due = dues.contact
    application.decision_due = dues.decision
    application.sla_assumed_years = ",".join(str(y) for y in dues.assumed_years)


def overdue_q(stage: str, now: datetime | None = None) -> Q:
    """Applications whose `stage` is late at `now`."""
    now = now or timezone.now()
    if stage == SlaStage.PICKUP:
        return Q(status=A.SUBMITTED, pickup_due__lt=now)
    if stage == SlaStage.CONTACT:
        return Q(status__in=BEFORE_CONTACT, first_contact_at__isnull=True, contact_due__lt=now)
    return Q(status__in=OPEN, decision_due__lt=now)


def any_overdue_q(now: datetime | None = None) -> Q:
    now = now or timezone.now()
    return (
        overdue_q(SlaStage.PICKUP, now)
        | overdue_q(SlaStage.CONTACT, now)
        | overdue_q(SlaStage.DECISION, now)
    )


def overdue_stages(application: LoanApplication, now: datetime | None = None) -> list[str]:
    """The stages that are late (the same rules as `overdue_q`, on one row)."""
    now = now or timezone.now()
    late = []
    status = application.status
    if status == A.SUBMITTED and application.pickup_due and application.pickup_due < now:
        late.append(SlaStage.PICKUP)
    if (
        status in BEFORE_CONTACT
        and application.first_contact_at is None
        and application.contact_due
        and application.contact_due < now
    ):
        late.append(SlaStage.CONTACT)
    if status in OPEN and application.decision_due and application.decision_due < now:
        late.append(SlaStage.DECISION)
    return [str(s) for s in late]


# ---------------------------------------------------------------------------------------------
# The sweep (beat, every few minutes; idempotent: escalations are unique per stage and round)
# ---------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    recomputed: int = 0
    escalated: int = 0
    returned_to_pool: int = 0


def recompute_assumed(now: datetime | None = None) -> int:
    """Open applications whose deadlines were counted on weekends only get them counted again
    (the office may have entered that year's holidays since)."""
    changed = 0
    for application in LoanApplication.objects.filter(status__in=OPEN).exclude(
        sla_assumed_years=""
    ):
        before = (
            application.pickup_due,
            application.contact_due,
            application.decision_due,
            application.sla_assumed_years,
        )
        pool_start = _pool_start(application)
        set_dues(application, dues_from(application.submitted_at, pickup_from=pool_start))
        after = (
            application.pickup_due,
            application.contact_due,
            application.decision_due,
            application.sla_assumed_years,
        )
        if after != before:
            application.save(
                update_fields=["pickup_due", "contact_due", "decision_due", "sla_assumed_years"]
            )
            changed += 1
    return changed


def _pool_start(application: LoanApplication) -> datetime | None:
    if application.pool_rounds == 0:
        return None
    event = (
        ApplicationEvent.objects.filter(application=application, move="return_to_pool")
        .order_by("-at", "-id")
        .first()
    )
    return event.at if event else None


def _escalate(stage: str, now: datetime) -> list[Escalation]:
    """Escalation rows for applications late at `stage` that have none yet for their round."""
    reported = Escalation.objects.filter(
        application=OuterRef("pk"),
        stage=stage,
        round=OuterRef("pool_rounds") if stage == SlaStage.PICKUP else 0,
    )
    late = (
        LoanApplication.objects.filter(overdue_q(stage, now))
        .filter(~Exists(reported))
        .values("id", "pool_rounds", "bank_id", "pickup_due", "contact_due", "decision_due")
    )
    due_field = {"pickup": "pickup_due", "contact": "contact_due", "decision": "decision_due"}
    rows = [
        Escalation(
            application_id=row["id"],
            stage=stage,
            round=row["pool_rounds"] if stage == SlaStage.PICKUP else 0,
            due=row[due_field[stage]],  # type: ignore[literal-required]
            bank_id=row["bank_id"],
            at=now,
        )
        for row in late
    ]
    if not rows:
        return []
    Escalation.objects.bulk_create(rows, ignore_conflicts=True)
    # what was really written now (another sweep may have raced this one)
    return list(
        Escalation.objects.filter(
            stage=stage, at=now, application_id__in=[r.application_id for r in rows]
        ).select_related("application__enterprise", "bank")
    )


def _return_demands_to_pool(now: datetime) -> list[LoanApplication]:
    """Demands nobody picked up in time go back to the pool for another round: the pick-up
    counts again from now and the round's escalation tells the credit office."""
    back = []
    ids = list(
        LoanApplication.objects.filter(
            overdue_q(SlaStage.PICKUP, now), kind=ApplicationKind.DEMAND
        ).values_list("id", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            application = (
                LoanApplication.objects.select_for_update(skip_locked=True)
                .filter(overdue_q(SlaStage.PICKUP, now), pk=pk)
                .first()
            )
            if (
                application is None
                or not Escalation.objects.filter(
                    application=application, stage=SlaStage.PICKUP, round=application.pool_rounds
                ).exists()
            ):
                continue  # accepted meanwhile, or not yet reported for this round
            application.pool_rounds += 1
            dues = dues_from(application.submitted_at, pickup_from=now)
            set_dues(application, dues)
            application.save(
                update_fields=[
                    "pool_rounds",
                    "pickup_due",
                    "contact_due",
                    "decision_due",
                    "sla_assumed_years",
                ]
            )
            ApplicationEvent.objects.create(
                application=application,
                move="return_to_pool",
                old_status=A.SUBMITTED,
                new_status=A.SUBMITTED,
                actor=None,
                reason=_("超过接单时限无人接单，第 %(n)d 次重新放回抢单池")
                % {"n": application.pool_rounds},
                at=now,
            )
            back.append(application)
    return back


def sweep(now: datetime | None = None) -> SweepResult:
    """Recount weekend-only deadlines, escalate every newly late stage, and put unclaimed
    demands back in the pool; the credit office and the banks' admins are told."""
    from lending import notices

    now = now or timezone.now()
    result = SweepResult(recomputed=recompute_assumed(now))
    with transaction.atomic():
        escalated = [e for stage in SlaStage.values for e in _escalate(stage, now)]
        notices.escalations(escalated)  # one notice per person for the whole sweep
    result.escalated = len(escalated)
    returned = _return_demands_to_pool(now)
    notices.returned_to_pool(returned)
    result.returned_to_pool = len(returned)
    return result


def escalation_summary(application: LoanApplication) -> list[dict[str, Any]]:
    return [
        {"stage": e.stage, "stage_name": e.get_stage_display(), "due": e.due, "at": e.at}
        for e in application.escalations.all()
    ]
