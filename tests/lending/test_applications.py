"""Loan applications: submission (terms, joint punishment, eligibility, the authorisation it
creates) and every allowed and forbidden move of the bank's workflow; accepting is race-safe."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from banks import products
from banks.models import LoanProduct
from enterprises.models import Authorization, CreditRecord, Enterprise
from lending import services
from lending.models import ApplicationEvent, LoanApplication, PunishmentFeedback
from tests.factories import PASSWORD, BankFactory, UserFactory, make_bank_member
from tests.lending.conftest import TERMS
from xinyidai.core.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def submit(owner: Any, product: LoanProduct, **extra: Any) -> services.Submission:
    fields: dict[str, Any] = {
        "actor": owner,
        "product_id": product.pk,
        "amount": Decimal("500000"),
        "term_months": 12,
        "repayment_method": "interest_first",
        "purpose": "采购原材料",
        "password": PASSWORD,
    }
    return services.application_submit(**(fields | extra))


def test_submit_keeps_the_version_and_creates_the_authorisation(
    product: LoanProduct,
    enterprise: Enterprise,
    enterprise_owner: Any,
    bank: Any,
    bank_officer: Any,
    credit_office: Any,
) -> None:
    result = submit(enterprise_owner, product)
    application = result.application
    assert application is not None and result.blocked is None
    assert (application.status, application.bank_id, application.enterprise_id) == (
        "submitted",
        bank.pk,
        enterprise.pk,
    )
    assert application.product_version_id == product.live_version_id
    assert application.number.startswith("DK")
    grant = application.authorization
    assert grant is not None
    assert (grant.grantee_bank_id, grant.purpose, grant.scope, grant.state()) == (
        bank.pk,
        "loan_application",
        "records",
        "active",
    )
    assert [e.move for e in application.events.all()] == ["submit"]
    # a second application to the same bank reuses the authorisation
    again = submit(enterprise_owner, product, amount=Decimal("200000"))
    assert again.application is not None and again.application.authorization_id == grant.pk
    assert Authorization.objects.count() == 1
    # a revision published later does not change what was applied for
    products.product_update(
        actor=bank_officer, product_id=product.pk, terms={"rate_min": Decimal("3.1")}
    )
    products.product_move(actor=bank_officer, product_id=product.pk, move="submit")
    products.product_move(actor=credit_office, product_id=product.pk, move="publish")
    application.refresh_from_db()
    kept = application.product_version
    assert kept is not None and (kept.number, kept.rate_min) == (1, Decimal("3.4500"))


def test_submission_checks_terms_identity_and_role(
    product: LoanProduct, enterprise_owner: Any, enterprise_member: Any
) -> None:
    for extra, code, field in (
        ({"amount": Decimal("50")}, "amount_out_of_range", "amount"),
        ({"term_months": 48}, "term_out_of_range", "term_months"),
        ({"repayment_method": "bullet"}, "repayment_not_offered", "repayment_method"),
        ({"purpose": " "}, "purpose_required", "purpose"),
    ):
        with pytest.raises(DomainError) as refused:
            submit(enterprise_owner, product, **extra)
        assert refused.value.code == code and field in refused.value.detail
    with pytest.raises(DomainError) as wrong:
        submit(enterprise_owner, product, password="wrong")
    assert wrong.value.code == "reauth_failed"
    with pytest.raises(DomainError) as member:
        submit(enterprise_member, product)
    assert member.value.code == "not_enterprise_admin"
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_ineligible_enterprises_are_told_what_they_miss(
    bank_officer: Any, credit_office: Any, enterprise: Enterprise, enterprise_owner: Any
) -> None:
    p = products.product_create(actor=bank_officer, code="OLD", terms={**TERMS, "min_years": 50})
    products.product_move(actor=bank_officer, product_id=p.pk, move="submit")
    products.product_move(actor=credit_office, product_id=p.pk, move="publish")
    with pytest.raises(DomainError) as refused:
        submit(enterprise_owner, p)
    assert refused.value.code == "not_eligible"
    assert "成立年限不足 50 年" in refused.value.message
    assert refused.value.detail["eligible"] is False


def test_joint_punishment_blocks_and_is_fed_back(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any
) -> None:
    record = CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type="dishonest_debtor",
        source_department="东莞市中级人民法院",
        source_record_id="SX-1",
        decision_date=date(2026, 5, 1),
        content_hash="SX-1",
    )
    result = submit(enterprise_owner, product)
    assert result.application is None and result.blocked is not None
    feedback = PunishmentFeedback.objects.get()
    assert (feedback.enterprise_id, feedback.context, feedback.records) == (
        enterprise.pk,
        "loan_application",
        [record.pk],
    )
    assert "失信被执行人" in feedback.detail and "联合惩戒" in feedback.detail
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Workflow
# ---------------------------------------------------------------------------------------------
PATH = {
    "submitted": [],
    "accepted": ["accept"],
    "under_review": ["accept", "start_review"],
    "approved": ["accept", "start_review", "approve"],
    "rejected": ["accept", "reject"],
    "disbursed": ["accept", "start_review", "approve", "disburse"],
    "closed": ["accept", "start_review", "approve", "disburse", "close"],
    "withdrawn": ["withdraw"],
}
DATA: dict[str, dict[str, Any]] = {
    "approve": {
        "approved_amount": Decimal("400000"),
        "approved_rate": Decimal("3.6"),
        "approved_term_months": 12,
    },
    "reject": {"reject_reason": "credit"},
    "disburse": {
        "disbursed_amount": Decimal("400000"),
        "disbursed_rate": Decimal("3.6"),
        "contract_number": "HT-2026-001",
        "disbursed_on": "2026-11-20",
        "guarantee_party": "东莞市融资担保公司",
    },
}


def bring_to(status: str, owner: Any, officer: Any, product: LoanProduct) -> LoanApplication:
    application = submit(owner, product).application
    assert application is not None
    for move in PATH[status]:
        actor = owner if move == "withdraw" else officer
        application = services.application_move(
            actor=actor, application_id=application.pk, move=move, **DATA.get(move, {})
        )
    return application


ALLOWED = [
    (start, move)
    for move, (sources, _target, _who) in services.MOVES.items()
    for start in sorted(sources)
]


@pytest.mark.parametrize(("start", "move"), ALLOWED)
def test_every_allowed_move(
    start: str, move: str, product: LoanProduct, enterprise_owner: Any, bank_officer: Any
) -> None:
    application = bring_to(start, enterprise_owner, bank_officer, product)
    actor = enterprise_owner if move == "withdraw" else bank_officer
    moved = services.application_move(
        actor=actor, application_id=application.pk, move=move, reason="说明", **DATA.get(move, {})
    )
    # "contact" is recorded without changing the status
    assert moved.status == (services.MOVES[move][1] or start)
    if move in services.CONTACT_MOVES:
        assert moved.first_contact_at is not None
    event = ApplicationEvent.objects.filter(application=application).last()
    assert event is not None
    assert (event.move, event.old_status, event.new_status, event.actor_id) == (
        move,
        start,
        moved.status,
        actor.pk,
    )
    if move == "accept":
        assert moved.officer_id == bank_officer.pk and moved.accepted_at is not None
    if move == "approve":
        assert (moved.approved_amount, moved.approved_rate) == (
            Decimal("400000"),
            Decimal("3.6"),
        )
    if move == "disburse":
        assert (moved.contract_number, str(moved.disbursed_on)) == ("HT-2026-001", "2026-11-20")


FORBIDDEN = [
    (start, move)
    for start in PATH
    for move, (sources, _t, _w) in services.MOVES.items()
    if start not in sources
]


@pytest.mark.parametrize(("start", "move"), FORBIDDEN)
def test_every_forbidden_move_answers_409(
    start: str,
    move: str,
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
) -> None:
    application = bring_to(start, enterprise_owner, bank_officer, product)
    # someone who may make the move in principle: the bank's admin handles any application
    actor = enterprise_owner if move == "withdraw" else bank_admin
    with pytest.raises(Conflict) as refused:
        services.application_move(
            actor=actor, application_id=application.pk, move=move, **DATA.get(move, {})
        )
    assert refused.value.detail == {
        "status": start,
        "allowed": services.allowed_moves(application),
    }


def test_moves_by_the_wrong_people_are_refused(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, bank_admin: Any
) -> None:
    application = bring_to("accepted", enterprise_owner, bank_officer, product)
    colleague = UserFactory.create()
    make_bank_member(colleague, bank_officer.bank_membership.bank, "officer")
    stranger = UserFactory.create()
    make_bank_member(stranger, BankFactory.create(), "admin")
    for actor, move in (
        (colleague, "start_review"),  # not the accepting officer
        (stranger, "reject"),
        (enterprise_owner, "start_review"),
        (bank_officer, "withdraw"),
    ):
        with pytest.raises(DomainError) as refused:
            services.application_move(
                actor=actor, application_id=application.pk, move=move, **DATA.get(move, {})
            )
        assert refused.value.code == "move_forbidden", (actor, move)
    # the bank's admin may take over
    moved = services.application_move(
        actor=bank_admin, application_id=application.pk, move="start_review"
    )
    assert moved.status == "under_review"


def test_decision_data_is_checked(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any
) -> None:
    application = bring_to("under_review", enterprise_owner, bank_officer, product)
    with pytest.raises(DomainError) as too_much:
        services.application_move(
            actor=bank_officer,
            application_id=application.pk,
            move="approve",
            **{**DATA["approve"], "approved_amount": Decimal("900000")},
        )
    assert "approved_amount" in too_much.value.detail
    with pytest.raises(DomainError) as no_reason:
        services.application_move(actor=bank_officer, application_id=application.pk, move="reject")
    assert no_reason.value.code == "reason_required"
    application.refresh_from_db()
    assert application.status == "under_review"


def test_tenancy(
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    credit_office: Any,
    other_enterprise: Enterprise,
) -> None:
    application = bring_to("submitted", enterprise_owner, bank_officer, product)
    stranger = UserFactory.create()
    make_bank_member(stranger, BankFactory.create(), "officer")
    assert list(services.applications_visible_to(bank_officer)) == [application]
    assert list(services.applications_visible_to(enterprise_owner)) == [application]
    assert list(services.applications_visible_to(credit_office)) == [application]
    assert list(services.applications_visible_to(stranger)) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_officers_accepting_at_once_leave_one_winner(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any
) -> None:
    application = bring_to("submitted", enterprise_owner, bank_officer, product)
    colleague = UserFactory.create()
    make_bank_member(colleague, bank_officer.bank_membership.bank, "officer")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(user: Any) -> None:
        try:
            barrier.wait()
            services.application_move(actor=user, application_id=application.pk, move="accept")
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(u,)) for u in (bank_officer, colleague)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    application.refresh_from_db()
    assert application.status == "accepted"
    assert application.officer_id in (bank_officer.pk, colleague.pk)
    assert ApplicationEvent.objects.filter(application=application, move="accept").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_first_submissions_at_once_grant_one_authorisation(
    product: LoanProduct, enterprise_owner: Any
) -> None:
    """A double click: both applications go in, but the second waits for the first's lock on
    the firm and reuses the authorisation it granted instead of granting another."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply() -> None:
        try:
            barrier.wait()
            result = submit(enterprise_owner, product)
            outcomes.append("submitted" if result.application else "blocked")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["submitted", "submitted"]
    (grant,) = Authorization.objects.filter(purpose="loan_application")
    assert set(LoanApplication.objects.values_list("authorization_id", flat=True)) == {grant.pk}
